// Load for the client quota tests (test/broker/quota/client-quotas.test.ts): a Java producer or
// consumer that goes as fast as the broker lets it, measures its own rate, and reports the throttle
// time the client saw in its metrics (KIP-219: the client backs off by the broker's throttle_time_ms).
// Usage: java -cp 'lib/*' QuotaLoad.java <mode> <bootstrap> <topic> <client.id> <seconds> <warmup> [props]
//   produce : 1000-byte values; the clock starts at the first acknowledgement (so client start-up
//             and metadata do not count) and runs <seconds>; the rate counts acknowledged value
//             bytes between <warmup> and <seconds> on that clock
//   consume : assign() every partition from the beginning and poll; the clock starts at the first
//             record; the rate counts value bytes received between <warmup> and <seconds>
//   fill    : produce <seconds> MiB (as fast as possible) and exit
// [props]: extra client settings "k=v|k=v". Prints "tick <ms> <bytes>" each second and one
// "result rate=<bytes/s> throttleAvg=<ms> throttleMax=<ms>" line (the largest values the client's
// produce-/fetch-throttle-time-avg/-max metrics showed while it ran).
import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.serialization.*;

public class QuotaLoad {
  public static void main(String[] args) throws Exception {
    String mode = args[0], bootstrap = args[1], topic = args[2], clientId = args[3];
    int seconds = Integer.parseInt(args[4]);
    int warmup = Integer.parseInt(args[5]);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", clientId);
    if (args.length > 6 && !args[6].isEmpty())
      for (String kv : args[6].split("\\|")) {
        int i = kv.indexOf('=');
        p.put(kv.substring(0, i), kv.substring(i + 1));
      }
    switch (mode) {
      case "produce" -> produce(p, topic, seconds, warmup);
      case "consume" -> consume(p, topic, seconds, warmup);
      case "fill" -> fill(p, topic, seconds);
      default -> throw new IllegalArgumentException(mode);
    }
  }

  static double metric(Map<MetricName, ? extends Metric> metrics, String group, String name) {
    for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet())
      if (e.getKey().group().equals(group) && e.getKey().name().equals(name)) {
        Object v = e.getValue().metricValue();
        if (v instanceof Double d && !d.isNaN()) return d;
      }
    return 0;
  }

  static void produce(Properties p, String topic, int seconds, int warmup) throws Exception {
    p.put("acks", "1");
    p.put("linger.ms", "5");
    p.put("batch.size", "65536");
    p.put("buffer.memory", "1048576");
    p.put("max.block.ms", "60000");
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    byte[] value = new byte[1000];
    new Random(7).nextBytes(value);
    AtomicLong measured = new AtomicLong();
    AtomicLong total = new AtomicLong();
    AtomicLong firstAck = new AtomicLong(0);
    long launched = System.currentTimeMillis();
    double avg = 0, max = 0;
    long nextTick = launched + 1000;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      while (true) {
        long first = firstAck.get();
        long now0 = System.currentTimeMillis();
        if (first > 0 ? now0 >= first + seconds * 1000L : now0 >= launched + 120_000L) break;
        producer.send(new ProducerRecord<>(topic, value), (md, err) -> {
          if (err != null) return;
          long now = System.currentTimeMillis();
          firstAck.compareAndSet(0, now);
          long start = firstAck.get();
          total.addAndGet(value.length);
          if (now >= start + warmup * 1000L && now < start + seconds * 1000L) measured.addAndGet(value.length);
        });
        long now = System.currentTimeMillis();
        long start = firstAck.get() > 0 ? firstAck.get() : launched;
        if (now >= nextTick) {
          nextTick += 1000;
          avg = Math.max(avg, metric(producer.metrics(), "producer-metrics", "produce-throttle-time-avg"));
          max = Math.max(max, metric(producer.metrics(), "producer-metrics", "produce-throttle-time-max"));
          System.out.println("tick " + (now - start) + " " + total.get());
        }
      }
      avg = Math.max(avg, metric(producer.metrics(), "producer-metrics", "produce-throttle-time-avg"));
      max = Math.max(max, metric(producer.metrics(), "producer-metrics", "produce-throttle-time-max"));
      producer.close(Duration.ZERO);
    }
    double rate = measured.get() / (double) (seconds - warmup);
    System.out.println("result rate=" + (long) rate + " throttleAvg=" + avg + " throttleMax=" + max);
  }

  static void consume(Properties p, String topic, int seconds, int warmup) {
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    long measured = 0, total = 0;
    double avg = 0, max = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo pi : consumer.partitionsFor(topic)) tps.add(new TopicPartition(topic, pi.partition()));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      long launched = System.currentTimeMillis();
      long start = 0;
      long nextTick = launched + 1000;
      while (start > 0 ? System.currentTimeMillis() < start + seconds * 1000L : System.currentTimeMillis() < launched + 120_000L) {
        ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(200));
        long now = System.currentTimeMillis();
        if (start == 0 && !recs.isEmpty()) start = now;
        long from = start + warmup * 1000L, until = start + seconds * 1000L;
        for (ConsumerRecord<byte[], byte[]> r : recs) {
          total += r.value().length;
          if (now >= from && now < until) measured += r.value().length;
        }
        if (now >= nextTick) {
          nextTick += 1000;
          avg = Math.max(avg, metric(consumer.metrics(), "consumer-fetch-manager-metrics", "fetch-throttle-time-avg"));
          max = Math.max(max, metric(consumer.metrics(), "consumer-fetch-manager-metrics", "fetch-throttle-time-max"));
          System.out.println("tick " + (start > 0 ? now - start : 0) + " " + total);
        }
      }
    }
    double rate = measured / (double) (seconds - warmup);
    System.out.println("result rate=" + (long) rate + " throttleAvg=" + avg + " throttleMax=" + max);
  }

  static void fill(Properties p, String topic, int mib) throws Exception {
    p.put("acks", "1");
    p.put("linger.ms", "5");
    p.put("batch.size", "262144");
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    byte[] value = new byte[1000];
    new Random(7).nextBytes(value);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      for (long sent = 0; sent < mib * 1048576L; sent += value.length)
        producer.send(new ProducerRecord<>(topic, value));
      producer.flush();
    }
    System.out.println("result filled=" + mib);
  }
}
