// Transactions under failures with the Java client (kafka-clients 4.4.0), for
// test/cluster/transactions.test.ts, the 1,000-transaction run of test/compat/transactions-java.test.ts
// and the input/output of test/compat/streams-eos.test.ts.
// Usage: java -cp 'lib/*' TxnProofs.java <mode> <bootstrap> args...
//   create  <topic> <partitions> <rf> [<config>=<value>...] : create the topic, wait for its leaders
//   produce <topic> <txnId> <txns> <abortEvery>
//           : initTransactions, then <txns> transactions, each with one record per partition
//             (value "t<i>-p<partition>"); transaction i is aborted after a flush (its records are
//             in the log) when (i + 1) % abortEvery == 0, else committed. Prints "commit <i>" /
//             "abort <i>" and, at the end, "done <millis>".
//   consume <topic> <isolation> <expected>
//           : assign() every partition from the beginning with isolation.level=<isolation>, read until
//             <expected> records arrived and 3 s more; prints "rec <partition> <offset> <value>",
//             then "end <partition> <endOffset>" (endOffsets with that isolation level) and
//             "hw <partition> <endOffset>" (read_uncommitted end offsets, the high watermark).
//   fill    <topic> <count>
//           : <count> plain records, value "in-<n>", n = 0..count-1, round robin over the partitions,
//             acks=all, idempotent; prints "filled <count>".
//   words   <topic> <lines> <distinct>
//           : <lines> plain records (null key), line n = "w<n % distinct> w<(7n + 3) % distinct>",
//             round robin over the partitions, acks=all, idempotent; prints "filled <lines>".
//   ctp     <in> <out> <group> <txnId> <maxPollRecords> <processMs>
//           : consume-transform-produce without end: a read_committed consumer in <group> (static
//             member "ctp-<txnId>", so a restarted process takes the killed one's place at once)
//             reads <in>; every poll is one transaction that writes each value with "in-" replaced by
//             "out-" to the same partition of <out> (sleeping <processMs> after each, so a kill
//             often lands inside a transaction) and commits the consumer's offsets with
//             sendOffsetsToTransaction(offsets, groupMetadata()). Prints "txn <records>" after each
//             commit. When its assignment is every partition of <in> and its position on each is the
//             read_committed end offset, it prints "caught-up <processed>" and exits. Meant to be
//             SIGKILLed at any point and restarted.
//   slow    <topic> <txnId> <txns> <gapMs>
//           : <txns> transactions of one record per partition (value "t<i>-p<partition>"), sleeping
//             <gapMs> between the sends so a transaction stays open a while; retriable failures
//             before the commit (a send or AddPartitions failing while the coordinator moves) end
//             the transaction with abortTransaction and go on; a commit that times out is called
//             again (Kafka's contract: its outcome is not known until it returns). Prints "commit <i>" once
//             commitTransaction returned, "abort <i> <exception>" when the transaction was given
//             up, "done" at the end. Fatal errors throw.
// Anything unexpected throws (non-zero exit).
import java.time.Duration;
import java.util.*;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.errors.*;
import org.apache.kafka.common.serialization.*;

public class TxnProofs {
  public static void main(String[] args) throws Exception {
    String mode = args[0], bootstrap = args[1];
    switch (mode) {
      case "create" -> create(bootstrap, args[2], Integer.parseInt(args[3]), Short.parseShort(args[4]), Arrays.copyOfRange(args, 5, args.length));
      case "produce" -> produce(bootstrap, args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
      case "consume" -> consume(bootstrap, args[2], args[3], Integer.parseInt(args[4]));
      case "fill" -> fill(bootstrap, args[2], Integer.parseInt(args[3]));
      case "words" -> words(bootstrap, args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "ctp" -> ctp(bootstrap, args[2], args[3], args[4], args[5], Integer.parseInt(args[6]), Integer.parseInt(args[7]));
      case "slow" -> slow(bootstrap, args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
      default -> throw new IllegalArgumentException(mode);
    }
  }

  static void out(String s) {
    System.out.println(s);
    System.out.flush();
  }

  static void create(String bootstrap, String topic, int partitions, short rf, String[] configs) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    Map<String, String> c = new HashMap<>();
    for (String kv : configs) c.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    try (Admin admin = Admin.create(p)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, rf).configs(c))).all().get(60, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + 60_000;
      for (;;) {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
        if (d.partitions().size() == partitions && d.partitions().stream().allMatch(pi -> pi.leader() != null && pi.isr().size() == rf)) break;
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("no leaders for " + topic + ": " + d);
        Thread.sleep(200);
      }
      out("created " + topic);
    }
  }

  static KafkaProducer<String, String> producer(String bootstrap, String txnId) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60000);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.METADATA_MAX_AGE_CONFIG, 5000);
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  static void produce(String bootstrap, String topic, String txnId, int txns, int abortEvery) throws Exception {
    long t0 = System.currentTimeMillis();
    try (KafkaProducer<String, String> producer = producer(bootstrap, txnId)) {
      producer.initTransactions();
      int partitions = producer.partitionsFor(topic).size();
      for (int i = 0; i < txns; i++) {
        producer.beginTransaction();
        for (int j = 0; j < partitions; j++) producer.send(new ProducerRecord<>(topic, j, "k" + j, "t" + i + "-p" + j));
        if ((i + 1) % abortEvery == 0) {
          producer.flush();
          producer.abortTransaction();
          out("abort " + i);
        } else {
          producer.commitTransaction();
          out("commit " + i);
        }
      }
    }
    out("done " + (System.currentTimeMillis() - t0));
  }

  static void consume(String bootstrap, String topic, String isolation, int expected) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo pi : c.partitionsFor(topic)) tps.add(new TopicPartition(topic, pi.partition()));
      c.assign(tps);
      c.seekToBeginning(tps);
      int n = 0;
      long deadline = System.currentTimeMillis() + 120_000;
      long quietUntil = Long.MAX_VALUE;
      StringBuilder buf = new StringBuilder();
      while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          buf.append("rec ").append(r.partition()).append(' ').append(r.offset()).append(' ').append(r.value()).append('\n');
          n++;
        }
        if (n >= expected && quietUntil == Long.MAX_VALUE) quietUntil = System.currentTimeMillis() + 3000;
      }
      System.out.print(buf);
      for (Map.Entry<TopicPartition, Long> e : c.endOffsets(tps).entrySet())
        out("end " + e.getKey().partition() + " " + e.getValue());
      Properties up = new Properties();
      up.putAll(p);
      up.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
      try (KafkaConsumer<String, String> u = new KafkaConsumer<>(up, new StringDeserializer(), new StringDeserializer())) {
        for (Map.Entry<TopicPartition, Long> e : u.endOffsets(tps).entrySet())
          out("hw " + e.getKey().partition() + " " + e.getValue());
      }
    }
  }

  static void fill(String bootstrap, String topic, int count) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      int partitions = producer.partitionsFor(topic).size();
      List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
      for (int n = 0; n < count; n++) fs.add(producer.send(new ProducerRecord<>(topic, n % partitions, "k" + n, "in-" + n)));
      for (var f : fs) f.get(120, TimeUnit.SECONDS);
    }
    out("filled " + count);
  }

  static void words(String bootstrap, String topic, int lines, int distinct) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      int partitions = producer.partitionsFor(topic).size();
      List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
      for (long n = 0; n < lines; n++)
        fs.add(producer.send(new ProducerRecord<>(topic, (int) (n % partitions), null, "w" + (n % distinct) + " w" + ((7 * n + 3) % distinct))));
      for (var f : fs) f.get(120, TimeUnit.SECONDS);
    }
    out("filled " + lines);
  }

  static void ctp(String bootstrap, String in, String outTopic, String group, String txnId, int maxPollRecords, int processMs) throws Exception {
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    cp.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "ctp-" + txnId);
    cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30000);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords);
    try (KafkaProducer<String, String> p = producer(bootstrap, txnId)) {
      // First: initTransactions fences the killed predecessor and ends its open transaction, so the
      // consumer's committed offsets (read with require_stable) are settled when it starts.
      p.initTransactions();
      out("initialized");
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
        c.subscribe(List.of(in));
        int partitions = c.partitionsFor(in).size();
        long processed = 0;
        for (;;) {
          ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
          if (recs.isEmpty()) {
            Set<TopicPartition> a = c.assignment();
            if (a.size() == partitions) {
              Map<TopicPartition, Long> end = c.endOffsets(a);
              boolean atEnd = true;
              for (TopicPartition tp : a) if (c.position(tp) < end.get(tp)) atEnd = false;
              if (atEnd) {
                out("caught-up " + processed);
                return;
              }
            }
            continue;
          }
          p.beginTransaction();
          Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
          for (ConsumerRecord<String, String> r : recs) {
            p.send(new ProducerRecord<>(outTopic, r.partition(), r.key(), r.value().replace("in-", "out-")));
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            if (processMs > 0) Thread.sleep(processMs);
          }
          p.sendOffsetsToTransaction(offsets, c.groupMetadata());
          p.commitTransaction();
          processed += recs.count();
          out("txn " + recs.count());
        }
      }
    }
  }

  static void slow(String bootstrap, String topic, String txnId, int txns, int gapMs) throws Exception {
    try (KafkaProducer<String, String> producer = producer(bootstrap, txnId)) {
      producer.initTransactions();
      out("initialized");
      int partitions = producer.partitionsFor(topic).size();
      for (int i = 0; i < txns; i++) {
        try {
          producer.beginTransaction();
          for (int j = 0; j < partitions; j++) {
            producer.send(new ProducerRecord<>(topic, j, "k" + j, "t" + i + "-p" + j));
            Thread.sleep(gapMs);
          }
          for (int attempt = 1; ; attempt++) {
            try {
              producer.commitTransaction();
              break;
            } catch (TimeoutException e) {
              // The commit's outcome is not known yet: Kafka's contract is to call commit again.
              if (attempt == 5) throw e;
              out("commit-retry " + i);
            }
          }
          out("commit " + i);
        } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException | UnsupportedVersionException
            | InvalidProducerEpochException e) {
          throw e;
        } catch (KafkaException e) {
          out("abort " + i + " " + e.getClass().getName());
          producer.abortTransaction();
        }
      }
    }
    out("done");
  }
}
