package dev.sluice.test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/**
 * A Kafka Connect source for the compaction test: its one task writes 0, 1, 2, … to `topic` (key
 * "c", ~500 records/s) and records the last number written as its source offset {"position": n};
 * on start it continues after the committed offset. So what a restarted worker writes first tells
 * which offset it read back from the (compacted) offsets topic. `version` is an inert setting the
 * test changes to write many connector configs.
 */
public class CounterSource {
  static final Map<String, String> PARTITION = Map.of("source", "counter");

  public static class Connector extends SourceConnector {
    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
      this.props = props;
    }

    @Override
    public Class<? extends Task> taskClass() {
      return CounterTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
      return List.of(props);
    }

    @Override
    public void stop() {}

    @Override
    public ConfigDef config() {
      return new ConfigDef()
          .define("topic", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "topic to write")
          .define("version", ConfigDef.Type.STRING, "0", ConfigDef.Importance.LOW, "inert");
    }

    @Override
    public String version() {
      return "1";
    }
  }

  public static class CounterTask extends SourceTask {
    private String topic;
    private long next;

    @Override
    public void start(Map<String, String> props) {
      topic = props.get("topic");
      Map<String, Object> off = context.offsetStorageReader().offset(PARTITION);
      next = off == null ? 0 : ((Number) off.get("position")).longValue() + 1;
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
      Thread.sleep(20);
      List<SourceRecord> out = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        long n = next++;
        out.add(
            new SourceRecord(
                PARTITION, Map.of("position", n), topic, 0, Schema.STRING_SCHEMA, "c", Schema.INT64_SCHEMA, n));
      }
      return out;
    }

    @Override
    public void stop() {}

    @Override
    public String version() {
      return "1";
    }
  }
}
