// Kafka's error answers as the Java client (kafka-clients) reports them, for
// test/compat/kafka-answers.test.ts.
// Usage: java -cp 'lib/*' KafkaAnswers.java <mode> <bootstrap> <topic>
//   record-errors   : one batch of three records, the first and last without a key, to <topic> (a
//                     compacted topic), then one record with a key; prints per record
//                     "ack <index> <offset>" or "err <index> <exception class> <message>"
//   timestamp       : one record stamped two hours ahead of the clock (message.timestamp.after.max.ms
//                     defaults to one hour), then one stamped now; same output
//   too-large       : one record with a 1000-byte value (the test's topic allows 200-byte batches),
//                     then one with a 10-byte value; same output
// Anything unexpected throws (non-zero exit).
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaAnswers {
  public static void main(String[] args) throws Exception {
    String mode = args[0], bootstrap = args[1], topic = args[2];
    switch (mode) {
      case "record-errors" -> recordErrors(bootstrap, topic);
      case "timestamp" -> timestamp(bootstrap, topic);
      case "too-large" -> tooLarge(bootstrap, topic);
      default -> throw new IllegalArgumentException(mode);
    }
  }

  static void out(String s) {
    System.out.println(s);
    System.out.flush();
  }

  static KafkaProducer<String, String> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // One attempt, no idempotence: the answer to the batch as sent is what the test reads.
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
    p.put(ProducerConfig.RETRIES_CONFIG, "0");
    // Records sent together go in one batch.
    p.put(ProducerConfig.LINGER_MS_CONFIG, "500");
    return new KafkaProducer<>(p);
  }

  /** Wait for each send and print what the client reports for it, in order. */
  static void report(List<Future<RecordMetadata>> sends) throws InterruptedException {
    for (int i = 0; i < sends.size(); i++) {
      try {
        RecordMetadata m = sends.get(i).get();
        out("ack " + i + " " + m.offset());
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        out("err " + i + " " + c.getClass().getName() + " " + c.getMessage());
      }
    }
  }

  static void recordErrors(String bootstrap, String topic) throws Exception {
    try (KafkaProducer<String, String> producer = producer(bootstrap)) {
      // Metadata first, so the three records below leave in one batch.
      producer.partitionsFor(topic);
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      sends.add(producer.send(new ProducerRecord<>(topic, 0, null, "no key")));
      sends.add(producer.send(new ProducerRecord<>(topic, 0, "k1", "keyed")));
      sends.add(producer.send(new ProducerRecord<>(topic, 0, null, "no key either")));
      producer.flush();
      // Nothing of the refused batch was written: the next record takes offset 0.
      sends.add(producer.send(new ProducerRecord<>(topic, 0, "k3", "after")));
      producer.flush();
      report(sends);
    }
  }

  static void timestamp(String bootstrap, String topic) throws Exception {
    try (KafkaProducer<String, String> producer = producer(bootstrap)) {
      producer.partitionsFor(topic);
      long now = System.currentTimeMillis();
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      sends.add(producer.send(new ProducerRecord<>(topic, 0, now + 2 * 3600_000L, "k", "from the future")));
      producer.flush();
      sends.add(producer.send(new ProducerRecord<>(topic, 0, now, "k", "now")));
      producer.flush();
      report(sends);
    }
  }

  static void tooLarge(String bootstrap, String topic) throws Exception {
    try (KafkaProducer<String, String> producer = producer(bootstrap)) {
      producer.partitionsFor(topic);
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      sends.add(producer.send(new ProducerRecord<>(topic, 0, "k", "x".repeat(1000))));
      producer.flush();
      sends.add(producer.send(new ProducerRecord<>(topic, 0, "k", "x".repeat(10))));
      producer.flush();
      report(sends);
    }
  }
}
