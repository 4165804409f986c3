/*
 * Load generators the Kafka tools do not offer in a form that works against a broker without consumer
 * groups yet, written on the Java client (kafka-clients 3.9) so both brokers face the same client:
 *
 *   consume BOOTSTRAP TOPIC RECORDS TIMEOUT_S
 *       assign() every partition from the beginning and poll until RECORDS were read (0: up to the
 *       log end offsets at start; what
 *       ConsumerPerformance measures, minus its subscribe()/group join). Prints one JSON line.
 *   latency BOOTSTRAP TOPIC RATE SECONDS WARMUP_S SIZE ACKS
 *       a producer at a fixed RATE (records/s) and an assign()ed consumer in the same JVM; each value
 *       carries System.nanoTime() at send, the consumer records produce-to-consume latency in
 *       microseconds. Records sent during the first WARMUP_S seconds are not counted. One JSON line.
 *
 * Compiled by bench/lib/java.ts with javac against the jars from bench/kafka/pom.xml.
 */
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class BenchClient {
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "consume" -> consume(args[1], args[2], Long.parseLong(args[3]), Integer.parseInt(args[4]));
      case "latency" -> latency(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
          Integer.parseInt(args[5]), Integer.parseInt(args[6]), args[7]);
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "sluice-bench-consumer");
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    List<TopicPartition> tps = new ArrayList<>();
    for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30))) tps.add(new TopicPartition(topic, pi.partition()));
    return tps;
  }

  static void consume(String bootstrap, String topic, long want, int timeoutS) {
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      long start = System.nanoTime();
      List<TopicPartition> tps = partitions(c, topic);
      c.assign(tps);
      c.seekToBeginning(tps);
      if (want <= 0) { // everything up to the current log end
        want = 0;
        Map<TopicPartition, Long> begin = c.beginningOffsets(tps);
        for (Map.Entry<TopicPartition, Long> e : c.endOffsets(tps).entrySet()) want += e.getValue() - begin.get(e.getKey());
      }
      long records = 0, bytes = 0, first = 0;
      long deadline = start + timeoutS * 1_000_000_000L;
      while (records < want && System.nanoTime() < deadline) {
        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
        if (!rs.isEmpty() && first == 0) first = System.nanoTime();
        for (ConsumerRecord<byte[], byte[]> r : rs) {
          records++;
          bytes += r.serializedValueSize() + Math.max(0, r.serializedKeySize());
        }
      }
      long end = System.nanoTime();
      double secs = (end - (first == 0 ? start : first)) / 1e9;
      System.out.printf("{\"want\":%d,\"records\":%d,\"bytes\":%d,\"seconds\":%.4f,\"totalSeconds\":%.4f}%n",
          want, records, bytes, secs, (end - start) / 1e9);
    }
  }

  static void latency(String bootstrap, String topic, int rate, int seconds, int warmupS, int size, String acks)
      throws Exception {
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.ACKS_CONFIG, acks);
    pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    pp.put(ProducerConfig.CLIENT_ID_CONFIG, "sluice-bench-latency");
    KafkaConsumer<byte[], byte[]> c = consumer(bootstrap);
    List<TopicPartition> tps = partitions(c, topic);
    c.assign(tps);
    c.seekToEnd(tps);
    for (TopicPartition tp : tps) c.position(tp); // resolve the end offsets now, before sending

    long total = (long) rate * seconds;
    long warmupCount = (long) rate * warmupS;
    long[] lat = new long[(int) total];
    AtomicLong received = new AtomicLong();
    AtomicBoolean done = new AtomicBoolean();
    int[] samples = {0};
    Thread reader = new Thread(() -> {
      int n = 0;
      while (!done.get()) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
          long now = System.nanoTime();
          ByteBuffer v = ByteBuffer.wrap(r.value());
          long seq = v.getLong();
          long sent = v.getLong();
          if (seq >= warmupCount && n < lat.length) lat[n++] = (now - sent) / 1000;
          received.incrementAndGet();
        }
        samples[0] = n;
      }
      c.close();
    });
    reader.start();

    long errors = 0;
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
      long interval = 1_000_000_000L / rate;
      long t0 = System.nanoTime();
      AtomicLong failed = new AtomicLong();
      for (long i = 0; i < total; i++) {
        long due = t0 + i * interval;
        long wait;
        while ((wait = due - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
        byte[] value = new byte[size];
        ByteBuffer.wrap(value).putLong(i).putLong(System.nanoTime());
        p.send(new ProducerRecord<>(topic, value), (md, e) -> { if (e != null) failed.incrementAndGet(); });
      }
      p.flush();
      errors = failed.get();
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (received.get() < total - errors && System.nanoTime() < deadline) Thread.sleep(10);
    done.set(true);
    reader.join();
    int n = samples[0]; // reader.join() above makes its last write visible
    long[] s = Arrays.copyOf(lat, n);
    Arrays.sort(s);
    System.out.printf("{\"sent\":%d,\"received\":%d,\"errors\":%d,\"samples\":%d,\"p50Us\":%d,\"p99Us\":%d,\"p999Us\":%d,\"maxUs\":%d}%n",
        total, received.get(), errors, n, pct(s, 0.5), pct(s, 0.99), pct(s, 0.999), n > 0 ? s[n - 1] : -1);
  }

  static long pct(long[] sorted, double q) {
    if (sorted.length == 0) return -1;
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
  }
}
