// Admin.electLeaders (Kafka's ElectLeaders API, key 43) against a Sluice cluster, for
// test/cluster/reassignment.test.ts (kafkajs has no electLeaders).
// Usage: java -cp 'lib/*' ElectLeaders.java <bootstrap> <preferred|unclean> <topic:partition,...|all>
// Prints "result <topic> <partition> <NONE|exception class>" per partition the answer names, then
// "done"; a request-level failure throws (non-zero exit).
import java.util.*;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.*;

public class ElectLeaders {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    ElectionType type = switch (args[1]) {
      case "preferred" -> ElectionType.PREFERRED;
      case "unclean" -> ElectionType.UNCLEAN;
      default -> throw new IllegalArgumentException(args[1]);
    };
    Set<TopicPartition> partitions = null;
    if (!args[2].equals("all")) {
      partitions = new HashSet<>();
      for (String tp : args[2].split(",")) {
        int colon = tp.lastIndexOf(':');
        partitions.add(new TopicPartition(tp.substring(0, colon), Integer.parseInt(tp.substring(colon + 1))));
      }
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, Optional<Throwable>> results = admin.electLeaders(type, partitions).partitions().get(60, TimeUnit.SECONDS);
      List<TopicPartition> sorted = new ArrayList<>(results.keySet());
      sorted.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
      for (TopicPartition tp : sorted) {
        Optional<Throwable> err = results.get(tp);
        System.out.println("result " + tp.topic() + " " + tp.partition() + " " + err.map(e -> e.getClass().getSimpleName()).orElse("NONE"));
      }
      System.out.println("done");
    }
  }
}
