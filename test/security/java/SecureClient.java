import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

/**
 * The Java client (kafka-clients) with TLS/SASL settings from a properties file, for
 * test/security/clients.test.ts. Run as a single-file program with the client jars on the class path:
 *
 *   java -cp 'lib/*' SecureClient.java roundtrip <props> <topic> <count>
 *       produce <count> records (acks=all), consume them back; prints "produced N", "consumed N <v0>…"
 *   java -cp 'lib/*' SecureClient.java connect <props>
 *       describeCluster; prints "cluster <id>" or, when the client fails, "error <Exception>: <message>"
 */
public class SecureClient {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    try (FileInputStream in = new FileInputStream(args[1])) {
      p.load(in);
    }
    switch (args[0]) {
      case "roundtrip" -> roundtrip(p, args[2], Integer.parseInt(args[3]));
      case "connect" -> connect(p);
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  static void out(String s) {
    System.out.println(s);
    System.out.flush();
  }

  static Throwable root(Throwable t) {
    while (t instanceof ExecutionException && t.getCause() != null) t = t.getCause();
    return t;
  }

  static void connect(Properties base) throws Exception {
    Properties p = new Properties();
    p.putAll(base);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
    try (Admin admin = Admin.create(p)) {
      out("cluster " + admin.describeCluster().clusterId().get(20, TimeUnit.SECONDS));
    } catch (Exception e) {
      Throwable t = root(e);
      out("error " + t.getClass().getName() + ": " + t.getMessage());
    }
  }

  static void roundtrip(Properties base, String topic, int count) throws Exception {
    Properties pp = new Properties();
    pp.putAll(base);
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
    try (Producer<String, String> prod = new KafkaProducer<>(pp)) {
      for (int i = 0; i < count; i++) prod.send(new ProducerRecord<>(topic, "k" + i, "java-" + i)).get(60, TimeUnit.SECONDS);
    }
    out("produced " + count);
    Properties cp = new Properties();
    cp.putAll(base);
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<String> values = new ArrayList<>();
    try (Consumer<String, String> cons = new KafkaConsumer<>(cp)) {
      List<TopicPartition> tps = new ArrayList<>();
      cons.partitionsFor(topic, Duration.ofSeconds(30)).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
      cons.assign(tps);
      cons.seekToBeginning(tps);
      long deadline = System.currentTimeMillis() + 60000;
      while (values.size() < count && System.currentTimeMillis() < deadline)
        for (ConsumerRecord<String, String> r : cons.poll(Duration.ofMillis(500))) values.add(r.value());
    }
    Collections.sort(values);
    out("consumed " + values.size() + " " + String.join(",", values));
  }
}
