import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * A Kafka Streams 4.4.0 word count for the compaction test: records of topic `words` (key = the
 * word) are counted per key into an in-memory store `counts` whose changelog is a compacted topic.
 * An in-memory store has no local state, so every start restores the whole changelog; the restore
 * listener reports how many records that read. Runs until the counts add up to the expected total,
 * then prints "restored N", one "count WORD N" line per word, and exits.
 *
 * args: bootstrap applicationId stateDir expectedTotal
 */
public class WordCount {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String appId = args[1];
    String stateDir = args[2];
    long expectedTotal = Long.parseLong(args[3]);

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    // No record cache: every update goes to the changelog, so it holds many values per key.
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    // Configs of the internal (changelog) topics Streams creates: small segments, eager cleaning.
    p.put(StreamsConfig.topicPrefix("segment.bytes"), 16384);
    p.put(StreamsConfig.topicPrefix("min.cleanable.dirty.ratio"), "0.01");
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder b = new StreamsBuilder();
    b.stream("words", Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey()
        .count(
            Materialized.<String, Long>as(Stores.inMemoryKeyValueStore("counts"))
                .withKeySerde(Serdes.String())
                .withValueSerde(Serdes.Long()));

    AtomicLong restored = new AtomicLong();
    AtomicLong restoreEnded = new AtomicLong();
    KafkaStreams streams = new KafkaStreams(b.build(), p);
    streams.setGlobalStateRestoreListener(
        new StateRestoreListener() {
          public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
            System.err.println("restore start " + tp + " " + start + ".." + end);
          }

          public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long n) {}

          public void onRestoreEnd(TopicPartition tp, String store, long total) {
            restored.addAndGet(total);
            restoreEnded.incrementAndGet();
          }
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          e.printStackTrace();
          System.exit(3);
          return null;
        });
    streams.start();

    long deadline = System.currentTimeMillis() + 150_000;
    Map<String, Long> counts = new TreeMap<>();
    for (; ; ) {
      if (System.currentTimeMillis() > deadline) {
        System.err.println("timed out: state " + streams.state() + ", counts " + counts);
        System.exit(2);
      }
      Thread.sleep(300);
      if (streams.state() != KafkaStreams.State.RUNNING) continue;
      try {
        ReadOnlyKeyValueStore<String, Long> store =
            streams.store(
                StoreQueryParameters.fromNameAndType(
                    "counts", QueryableStoreTypes.<String, Long>keyValueStore()));
        counts.clear();
        long sum = 0;
        try (KeyValueIterator<String, Long> it = store.all()) {
          while (it.hasNext()) {
            KeyValue<String, Long> kv = it.next();
            counts.put(kv.key, kv.value);
            sum += kv.value;
          }
        }
        if (sum == expectedTotal) break;
      } catch (Exception e) {
        // The store is not queryable yet (rebalancing): try again.
      }
    }
    // Let the last updates reach the changelog and the offsets be committed.
    Thread.sleep(1000);
    streams.close(Duration.ofSeconds(30));
    System.out.println("restored " + restored.get() + " " + restoreEnded.get());
    for (Map.Entry<String, Long> e : counts.entrySet())
      System.out.println("count " + e.getKey() + " " + e.getValue());
  }
}
