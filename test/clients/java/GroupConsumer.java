// A Java consumer in a group: subscribe(), poll until it has read the expected number of records,
// commitSync() what it read, then print one JSON line with its assignment, count and committed
// offsets as the broker reports them. Args: bootstrap group topic expected [k=v;k=v]
// A KafkaException (e.g. the broker does not support the group protocol asked for) prints
// {"error":"<class>","message":"..."} and exits 1.
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

public class GroupConsumer {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("group.id", args[1]);
    p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("session.timeout.ms", "6000");
    p.put("heartbeat.interval.ms", "500");
    // Extra consumer settings as key=value pairs separated by ';', in the 5th argument; "key=" drops
    // a setting (group.protocol=consumer refuses session.timeout.ms and heartbeat.interval.ms).
    if (args.length > 4 && !args[4].isEmpty()) {
      for (String kv : args[4].split(";")) {
        int i = kv.indexOf('=');
        if (i == kv.length() - 1) p.remove(kv.substring(0, i));
        else p.put(kv.substring(0, i), kv.substring(i + 1));
      }
    }
    String topic = args[2];
    int expected = Integer.parseInt(args[3]);
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      consume(c, topic, expected);
    } catch (KafkaException e) {
      // A client-side failure the test asserts on (one JSON line), not a stack trace.
      System.out.println("{\"error\":\"" + e.getClass().getSimpleName() + "\",\"message\":\"" + String.valueOf(e.getMessage()).replace("\\", "\\\\").replace("\"", "\\\"") + "\"}");
      System.exit(1);
    }
  }

  static void consume(KafkaConsumer<String, String> c, String topic, int expected) {
    int count = 0;
    Set<String> values = new HashSet<>();
    c.subscribe(Collections.singletonList(topic));
    long deadline = System.currentTimeMillis() + 60_000;
    while (count < expected && System.currentTimeMillis() < deadline) {
      ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
      for (ConsumerRecord<String, String> r : rs) {
        count++;
        values.add(r.value());
      }
      if (!rs.isEmpty()) c.commitSync();
    }
    Set<TopicPartition> assigned = c.assignment();
    Map<TopicPartition, OffsetAndMetadata> committed = c.committed(assigned, Duration.ofSeconds(10));
    StringBuilder sb = new StringBuilder("{\"count\":" + count + ",\"distinct\":" + values.size() + ",\"generation\":" + c.groupMetadata().generationId() + ",\"committed\":{");
    List<TopicPartition> sorted = new ArrayList<>(assigned);
    sorted.sort(Comparator.comparingInt(TopicPartition::partition));
    for (int i = 0; i < sorted.size(); i++) {
      OffsetAndMetadata o = committed.get(sorted.get(i));
      sb.append(i > 0 ? "," : "").append("\"").append(sorted.get(i).partition()).append("\":").append(o == null ? -1 : o.offset());
    }
    sb.append("}}");
    System.out.println(sb);
  }
}
