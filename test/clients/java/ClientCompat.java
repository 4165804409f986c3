// The Java client (kafka-clients) against a Sluice broker, for test/compat/java.test.ts.
// Usage: java -cp 'lib/*' ClientCompat.java <mode> <bootstrap> <topic> [count] [props]
//   admin    : every admin call the test checks, one "key=value" line per observation
//   produce  : <count> keyed messages with the producer's defaults (acks=all, idempotence on), or
//              the settings in [props] ("k=v;k=v");
//              prints "ack <index> <partition> <offset>" for each acknowledgement
//   consume  : assign() every partition, read from the beginning until <count> records arrived;
//              prints "rec <partition> <offset> <key> <value>"
//   edge     : error paths and less common calls (topic ids, too-large records, codecs, offset
//              resets, read_committed, config errors and synonyms, dynamic broker defaults, log dirs)
// Output lines are parsed by the test; anything that fails throws (non-zero exit).
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.*;

public class ClientCompat {
  static String EXTRA = "";

  public static void main(String[] args) throws Exception {
    String mode = args[0], bootstrap = args[1], topic = args[2];
    int count = args.length > 3 ? Integer.parseInt(args[3]) : 0;
    EXTRA = args.length > 4 ? args[4] : "";
    switch (mode) {
      case "admin" -> admin(bootstrap, topic);
      case "produce" -> produce(bootstrap, topic, count);
      case "consume" -> consume(bootstrap, topic, count);
      case "edge" -> edge(bootstrap, topic);
      default -> throw new IllegalArgumentException(mode);
    }
  }

  static String sortedOps(Set<org.apache.kafka.common.acl.AclOperation> ops) {
    if (ops == null) return "null";
    return ops.stream().map(Enum::name).sorted().reduce((a, b) -> a + "," + b).orElse("");
  }

  static void out(String s) {
    System.out.println(s);
    System.out.flush();
  }

  static void admin(String bootstrap, String topic) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
    try (Admin admin = Admin.create(p)) {
      DescribeClusterResult dc = admin.describeCluster();
      out("cluster.id=" + dc.clusterId().get(30, TimeUnit.SECONDS));
      out("cluster.controller=" + dc.controller().get().id());
      for (Node n : dc.nodes().get()) out("cluster.node=" + n.id() + "@" + n.host() + ":" + n.port());

      NewTopic nt = new NewTopic(topic, 2, (short) 1).configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete"));
      CreateTopicsResult ctr = admin.createTopics(List.of(nt));
      ctr.all().get();
      out("create.partitions=" + ctr.numPartitions(topic).get());
      out("create.rf=" + ctr.replicationFactor(topic).get());
      out("create.topicId=" + ctr.topicId(topic).get());

      // Creating it again fails with TopicExistsException.
      try {
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        out("create.again=ok");
      } catch (Exception e) {
        out("create.again=" + e.getCause().getClass().getSimpleName());
      }

      TopicDescription td = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      out("describe.name=" + td.name());
      out("describe.topicId=" + td.topicId());
      for (TopicPartitionInfo pi : td.partitions()) {
        out("describe.partition=" + pi.partition() + " leader=" + pi.leader().id() + " replicas=" + pi.replicas().size() + " isr=" + pi.isr().size());
      }

      ConfigResource cr = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config cfg = admin.describeConfigs(List.of(cr)).all().get().get(cr);
      for (String k : List.of("retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes")) {
        ConfigEntry e = cfg.get(k);
        out("config." + k + "=" + e.value() + " " + e.source() + " default=" + e.isDefault());
      }

      admin.incrementalAlterConfigs(Map.of(cr, List.of(
          new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("cleanup.policy", null), AlterConfigOp.OpType.DELETE),
          new AlterConfigOp(new ConfigEntry("segment.bytes", "10485760"), AlterConfigOp.OpType.SET)))).all().get();
      cfg = admin.describeConfigs(List.of(cr)).all().get().get(cr);
      for (String k : List.of("retention.ms", "cleanup.policy", "segment.bytes")) {
        ConfigEntry e = cfg.get(k);
        out("altered." + k + "=" + e.value() + " " + e.source());
      }
      // Broker configs
      ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(dc.controller().get().id()));
      Config bcfg = admin.describeConfigs(List.of(br)).all().get().get(br);
      out("broker.num.partitions=" + bcfg.get("num.partitions").value() + " " + bcfg.get("num.partitions").source());

      admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
      td = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      out("partitions.after=" + td.partitions().size());

      // Produce a few records so offsets and deleteRecords have something to work on.
      Properties pp = new Properties();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      long t0 = System.currentTimeMillis();
      try (KafkaProducer<String, String> prod = new KafkaProducer<>(pp)) {
        for (int i = 0; i < 10; i++) prod.send(new ProducerRecord<>(topic, 0, t0 + i * 1000L, "k" + i, "v" + i)).get();
      }
      TopicPartition tp0 = new TopicPartition(topic, 0);
      out("offsets.earliest=" + admin.listOffsets(Map.of(tp0, OffsetSpec.earliest())).partitionResult(tp0).get().offset());
      out("offsets.latest=" + admin.listOffsets(Map.of(tp0, OffsetSpec.latest())).partitionResult(tp0).get().offset());
      ListOffsetsResult.ListOffsetsResultInfo byTs = admin.listOffsets(Map.of(tp0, OffsetSpec.forTimestamp(t0 + 4500))).partitionResult(tp0).get();
      out("offsets.forTimestamp=" + byTs.offset() + " ts=" + (byTs.timestamp() - t0));
      ListOffsetsResult.ListOffsetsResultInfo maxTs = admin.listOffsets(Map.of(tp0, OffsetSpec.maxTimestamp())).partitionResult(tp0).get();
      out("offsets.maxTimestamp=" + maxTs.offset() + " ts=" + (maxTs.timestamp() - t0));
      DeletedRecords dr = admin.deleteRecords(Map.of(tp0, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp0).get();
      out("deleteRecords.low=" + dr.lowWatermark());
      out("offsets.earliest.after=" + admin.listOffsets(Map.of(tp0, OffsetSpec.earliest())).partitionResult(tp0).get().offset());

      // KIP-430: authorized operations, only when asked (null otherwise); without an authorizer every
      // operation the resource type supports.
      out("authops.cluster.unasked=" + admin.describeCluster().authorizedOperations().get());
      out("authops.cluster=" + sortedOps(admin.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true)).authorizedOperations().get()));
      out("authops.topic.unasked=" + admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).authorizedOperations());
      out("authops.topic=" + sortedOps(admin.describeTopics(List.of(topic), new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames().get().get(topic).authorizedOperations()));
      String group = topic + "-group";
      admin.alterConsumerGroupOffsets(group, Map.of(tp0, new OffsetAndMetadata(3))).all().get();
      out("authops.group=" + sortedOps(admin.describeConsumerGroups(List.of(group), new DescribeConsumerGroupsOptions().includeAuthorizedOperations(true)).describedGroups().get(group).get().authorizedOperations()));

      admin.deleteTopics(List.of(topic)).all().get();
      // Deletion is visible in the topic list.
      boolean gone = false;
      for (int i = 0; i < 50 && !gone; i++) {
        gone = !admin.listTopics().names().get().contains(topic);
        if (!gone) Thread.sleep(100);
      }
      out("deleted=" + gone);
      try {
        admin.describeTopics(List.of(topic)).allTopicNames().get();
        out("describe.deleted=ok");
      } catch (Exception e) {
        out("describe.deleted=" + e.getCause().getClass().getSimpleName());
      }
    }
  }

  static void produce(String bootstrap, String topic, int count) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // Extra settings as key=value pairs separated by ';', in the 5th argument.
    String extra = EXTRA;
    if (extra != null && !extra.isEmpty()) {
      for (String kv : extra.split(";")) {
        int i = kv.indexOf('=');
        p.put(kv.substring(0, i), kv.substring(i + 1));
      }
    }
    List<String> acks = Collections.synchronizedList(new ArrayList<>());
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
      for (int i = 0; i < count; i++) {
        final int idx = i;
        prod.send(new ProducerRecord<>(topic, "key-" + i, "value-" + i), (md, ex) -> {
          if (ex != null) errors.add(idx + " " + ex);
          else acks.add("ack " + idx + " " + md.partition() + " " + md.offset());
        });
      }
      prod.flush();
    }
    for (String a : acks) System.out.println(a);
    for (String e : errors) System.out.println("error " + e);
    System.out.flush();
  }

  static void consume(String bootstrap, String topic, int count) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo pi : c.partitionsFor(topic)) tps.add(new TopicPartition(topic, pi.partition()));
      c.assign(tps);
      c.seekToBeginning(tps);
      int n = 0;
      long deadline = System.currentTimeMillis() + 60000;
      StringBuilder sb = new StringBuilder();
      while (n < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          sb.append("rec ").append(r.partition()).append(' ').append(r.offset()).append(' ').append(r.key()).append(' ').append(r.value()).append('\n');
          n++;
        }
      }
      // Nothing more arrives after the expected count.
      for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
        sb.append("rec ").append(r.partition()).append(' ').append(r.offset()).append(' ').append(r.key()).append(' ').append(r.value()).append('\n');
      }
      for (TopicPartition tp : tps) sb.append("end ").append(tp.partition()).append(' ').append(c.endOffsets(List.of(tp)).get(tp)).append('\n');
      System.out.print(sb);
      System.out.flush();
    }
  }

  /** Error paths and less common calls a user hits sooner or later; one "key=value" line each. */
  static void edge(String bootstrap, String topic) throws Exception {
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024);
    pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15000);
    pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (Admin admin = Admin.create(ap); KafkaProducer<String, String> prod = new KafkaProducer<>(pp)) {
      CreateTopicsResult ctr = admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("max.message.bytes", "20000"))));
      ctr.all().get();
      Uuid id = ctr.topicId(topic).get();
      // Describe by topic id (Metadata with topic ids).
      TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get().get(id);
      out("describeById=" + byId.name() + " " + byId.partitions().size());
      try {
        admin.describeTopics(TopicCollection.ofTopicIds(List.of(Uuid.randomUuid()))).allTopicIds().get();
        out("describeUnknownId=ok");
      } catch (Exception e) {
        out("describeUnknownId=" + e.getCause().getClass().getSimpleName());
      }
      // A record larger than the topic's max.message.bytes.
      try {
        prod.send(new ProducerRecord<>(topic, "big", "x".repeat(50000))).get();
        out("tooLarge=ok");
      } catch (Exception e) {
        out("tooLarge=" + e.getCause().getClass().getSimpleName());
      }
      for (String codec : List.of("gzip", "snappy", "lz4", "zstd")) {
        Properties cpp = (Properties) pp.clone();
        cpp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        try (KafkaProducer<String, String> cprod = new KafkaProducer<>(cpp)) {
          for (int i = 0; i < 100; i++) cprod.send(new ProducerRecord<>(topic, 0, codec + "-" + i, codec + "-value-" + i));
          cprod.flush();
        }
      }
      TopicPartition tp = new TopicPartition(topic, 0);
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        List<String> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 20000;
        while (got.size() < 400 && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) got.add(r.offset() + ":" + r.key() + ":" + r.value());
        }
        boolean ok = got.size() == 400;
        for (int j = 0; ok && j < 400; j++) {
          String codec = List.of("gzip", "snappy", "lz4", "zstd").get(j / 100);
          ok = got.get(j).equals(j + ":" + codec + "-" + (j % 100) + ":" + codec + "-value-" + (j % 100));
        }
        out("codecsReadBack=" + got.size() + " " + ok);
        // Seeking past the end: OFFSET_OUT_OF_RANGE, reset to earliest.
        c.seek(tp, 100000);
        ConsumerRecords<String, String> rs = ConsumerRecords.empty();
        deadline = System.currentTimeMillis() + 10000;
        while (rs.isEmpty() && System.currentTimeMillis() < deadline) rs = c.poll(Duration.ofMillis(300));
        out("afterOutOfRange=" + (rs.isEmpty() ? "none" : rs.iterator().next().offset()));
        // Delete the first 150 records; a consumer at 0 is reset to the new log start.
        admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(150))).all().get();
        c.seek(tp, 0);
        rs = ConsumerRecords.empty();
        deadline = System.currentTimeMillis() + 10000;
        while (rs.isEmpty() && System.currentTimeMillis() < deadline) rs = c.poll(Duration.ofMillis(300));
        out("afterDeleteRecords=" + (rs.isEmpty() ? "none" : rs.iterator().next().offset()));
        out("beginning=" + c.beginningOffsets(List.of(tp)).get(tp) + " end=" + c.endOffsets(List.of(tp)).get(tp));
      }
      // read_committed consumer sees the same data (no transactions: LSO = high watermark).
      Properties rc = (Properties) cp.clone();
      rc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(rc)) {
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        int n = 0;
        long deadline = System.currentTimeMillis() + 10000;
        while (n < 250 && System.currentTimeMillis() < deadline) n += c.poll(Duration.ofMillis(300)).count();
        out("readCommitted=" + n + " end=" + c.endOffsets(List.of(tp)).get(tp));
      }
      // Config errors and synonyms.
      ConfigResource cr = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      try {
        admin.incrementalAlterConfigs(Map.of(cr, List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all().get();
        out("badConfig=ok");
      } catch (Exception e) {
        out("badConfig=" + e.getCause().getClass().getSimpleName());
      }
      try {
        admin.incrementalAlterConfigs(Map.of(cr, List.of(new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND)))).all().get();
        out("append=" + admin.describeConfigs(List.of(cr)).all().get().get(cr).get("cleanup.policy").value());
      } catch (Exception e) {
        out("append=" + e.getCause().getClass().getSimpleName());
      }
      Config withSyn = admin.describeConfigs(List.of(cr), new DescribeConfigsOptions().includeSynonyms(true)).all().get().get(cr);
      ConfigEntry rms = withSyn.get("retention.ms");
      StringBuilder syn = new StringBuilder();
      for (ConfigEntry.ConfigSynonym sy : rms.synonyms()) syn.append(sy.name()).append('/').append(sy.source()).append(';');
      out("retention.synonyms=" + rms.value() + " " + syn);
      ConfigResource missing = new ConfigResource(ConfigResource.Type.TOPIC, topic + "-missing");
      try {
        admin.describeConfigs(List.of(missing)).all().get();
        out("describeMissing=ok");
      } catch (Exception e) {
        out("describeMissing=" + e.getCause().getClass().getSimpleName());
      }
      // Dynamic broker config (cluster default) via incrementalAlterConfigs, then back.
      ConfigResource brDefault = new ConfigResource(ConfigResource.Type.BROKER, "");
      admin.incrementalAlterConfigs(Map.of(brDefault, List.of(new AlterConfigOp(new ConfigEntry("log.retention.ms", "123456789"), AlterConfigOp.OpType.SET)))).all().get();
      Config tcfg = admin.describeConfigs(List.of(cr)).all().get().get(cr);
      out("topicAfterBrokerDefault=" + tcfg.get("retention.ms").value() + " " + tcfg.get("retention.ms").source());
      admin.incrementalAlterConfigs(Map.of(brDefault, List.of(new AlterConfigOp(new ConfigEntry("log.retention.ms", null), AlterConfigOp.OpType.DELETE)))).all().get();
      // Log dirs
      Map<Integer, Map<String, org.apache.kafka.clients.admin.LogDirDescription>> dirs = admin.describeLogDirs(List.of(1)).allDescriptions().get();
      long size = -1;
      for (org.apache.kafka.clients.admin.LogDirDescription d : dirs.get(1).values()) {
        if (d.replicaInfos().containsKey(tp)) size = d.replicaInfos().get(tp).size();
      }
      out("logDirSize=" + (size > 0));
    }
  }
}
