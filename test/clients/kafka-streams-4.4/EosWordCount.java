import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

/**
 * A Kafka Streams 4.4.0 word count with processing.guarantee=exactly_once_v2, for
 * test/compat/streams-eos.test.ts: lines of topic <input> are split into words, re-keyed by word
 * (a repartition topic), counted in a persistent (RocksDB) store with a changelog, and every new
 * count goes to <output> as the value "word:count" (record cache off, so each input word makes one
 * output record). It runs until it is killed; it prints "state RUNNING" when it runs and
 * "processed N" every 500 words it has counted (not yet committed: for the test's kill timing).
 *
 * args: bootstrap applicationId stateDir input output replicationFactor
 */
public class EosWordCount {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, Integer.parseInt(args[5]));
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    // A restarted instance replaces the killed one at once instead of waiting for its session.
    p.put(StreamsConfig.consumerPrefix("group.instance.id"), args[1] + "-instance");
    p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 30000);

    AtomicLong processed = new AtomicLong();
    StreamsBuilder b = new StreamsBuilder();
    b.stream(args[3], Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.split(" ")))
        .groupBy((k, w) -> w, Grouped.with("words", Serdes.String(), Serdes.String()))
        .count(Materialized.<String, Long>as(Stores.persistentKeyValueStore("counts"))
            .withKeySerde(Serdes.String())
            .withValueSerde(Serdes.Long()))
        .toStream()
        .map((w, c) -> {
          long n = processed.incrementAndGet();
          if (n % 500 == 0) {
            System.out.println("processed " + n);
            System.out.flush();
          }
          return KeyValue.pair(w, w + ":" + c);
        })
        .to(args[4], Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    streams.setStateListener((now, before) -> {
      System.out.println("state " + now);
      System.out.flush();
    });
    streams.setUncaughtExceptionHandler(e -> {
      e.printStackTrace();
      System.out.flush();
      Runtime.getRuntime().halt(3);
      return null;
    });
    streams.start();
    Thread.sleep(Long.MAX_VALUE);
  }
}
