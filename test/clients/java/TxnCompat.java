// Kafka transactions with the Java client (kafka-clients), for test/compat/transactions-java.test.ts.
// Usage: java -cp 'lib/*' TxnCompat.java <mode> <bootstrap> args...
//   create  <topic> <partitions>                 : create the topic (RF 1)
//   produce <topic> <txnId> <txns> <perTxn> <abortEvery>
//           : initTransactions, then <txns> transactions of <perTxn> records each, record j of
//             transaction i to partition j % partitions with value "t<i>-r<j>"; transaction i is
//             aborted (after a flush: its records are in the log) when (i + 1) % abortEvery == 0,
//             else committed. Prints "commit <i>" / "abort <i>".
//   consume <topic> <isolation> <expected>      : assign() every partition from the beginning with
//             isolation.level=<isolation>, read until <expected> records arrived and then 3 s more;
//             prints "rec <partition> <offset> <value>" and "end <partition> <endOffset>"
//             (endOffsets with the same isolation level)
//   fence   <topic> <txnId> <commit|send>        : producer A opens a transaction and writes; producer B
//             with the same transactional.id initTransactions (fences A); then A commits (commit), or
//             sends once more and commits (send), which fails: prints "fenced <exception class>";
//             B commits a record of its own: prints "b-committed"
//   hang    <topic> <txnId> <records> <timeoutMs> : open a transaction with transaction.timeout.ms
//             <timeoutMs>, write <records> records to partition 0, print "open" and exit without
//             ending it (the coordinator must abort it when it times out)
//   group-offsets <group>                        : the group's committed offsets (Admin
//             listConsumerGroupOffsets): "offset <topic> <partition> <offset>"
//   ctp     <in> <out> <group> <txnId> <count>   : consume-transform-produce: a read_committed consumer
//             in <group> reads <in>, each record's value upper-cased to <out> in a transaction that
//             also commits the consumer's offsets (sendOffsetsToTransaction); one transaction per
//             poll, until <count> records were processed. Prints "processed <n>" at the end.
//   epochs  <topic> <txnId> <txns> <abortEvery> <group|-> : like produce (2 records per transaction, one
//             to each of partitions 0 and 1; every <abortEvery>th aborted after a flush), and with a
//             <group> each transaction also commits an offset for that group (sendOffsetsToTransaction,
//             offset = transaction number + 1). After initTransactions and after each commit/abort,
//             Admin.describeTransactions prints "epoch <i|init> <producerId> <producerEpoch> <state>";
//             at the end Admin.describeProducers prints "producer <partition> <producerId> <epoch>"
//             for each active producer of partitions 0 and 1
// Anything unexpected throws (non-zero exit).
import java.time.Duration;
import java.util.*;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.serialization.*;

public class TxnCompat {
  public static void main(String[] args) throws Exception {
    String mode = args[0], bootstrap = args[1];
    switch (mode) {
      case "create" -> create(bootstrap, args[2], Integer.parseInt(args[3]));
      case "produce" -> produce(bootstrap, args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]), Integer.parseInt(args[6]));
      case "consume" -> consume(bootstrap, args[2], args[3], Integer.parseInt(args[4]));
      case "fence" -> fence(bootstrap, args[2], args[3], args[4]);
      case "hang" -> hang(bootstrap, args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
      case "group-offsets" -> groupOffsets(bootstrap, args[2]);
      case "epochs" -> epochs(bootstrap, args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]), args[6]);
      case "ctp" -> ctp(bootstrap, args[2], args[3], args[4], args[5], Integer.parseInt(args[6]));
      default -> throw new IllegalArgumentException(mode);
    }
  }

  static void out(String s) {
    System.out.println(s);
    System.out.flush();
  }

  static void create(String bootstrap, String topic, int partitions) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
      out("created " + topic);
    }
  }

  static void hang(String bootstrap, String topic, String txnId, int records, int timeoutMs) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, timeoutMs);
    KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    producer.initTransactions();
    producer.beginTransaction();
    for (int i = 0; i < records; i++) producer.send(new ProducerRecord<>(topic, 0, "k", "open-" + i));
    producer.flush();
    out("open");
    // Gone without ending the transaction: only the coordinator's timeout can end it.
    Runtime.getRuntime().halt(0);
  }

  static void groupOffsets(String bootstrap, String group) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      Map<TopicPartition, OffsetAndMetadata> m =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
      for (Map.Entry<TopicPartition, OffsetAndMetadata> e : m.entrySet())
        out("offset " + e.getKey().topic() + " " + e.getKey().partition() + " " + e.getValue().offset());
    }
  }

  static KafkaProducer<String, String> producer(String bootstrap, String txnId) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60000);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  static void produce(String bootstrap, String topic, String txnId, int txns, int perTxn, int abortEvery) throws Exception {
    try (KafkaProducer<String, String> producer = producer(bootstrap, txnId)) {
      producer.initTransactions();
      int partitions = producer.partitionsFor(topic).size();
      for (int i = 0; i < txns; i++) {
        producer.beginTransaction();
        for (int j = 0; j < perTxn; j++)
          producer.send(new ProducerRecord<>(topic, j % partitions, "k" + j, "t" + i + "-r" + j));
        if ((i + 1) % abortEvery == 0) {
          // Written first, so the aborted records are in the log (read_uncommitted sees them).
          producer.flush();
          producer.abortTransaction();
          out("abort " + i);
        } else {
          producer.commitTransaction();
          out("commit " + i);
        }
      }
    }
  }

  static void printTxn(Admin admin, String txnId, String label) throws Exception {
    TransactionDescription d =
        admin.describeTransactions(List.of(txnId)).description(txnId).get(60, TimeUnit.SECONDS);
    out("epoch " + label + " " + d.producerId() + " " + d.producerEpoch() + " " + d.state());
  }

  static void epochs(String bootstrap, String topic, String txnId, int txns, int abortEvery, String group) throws Exception {
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ap); KafkaProducer<String, String> producer = producer(bootstrap, txnId)) {
      producer.initTransactions();
      printTxn(admin, txnId, "init");
      for (int i = 0; i < txns; i++) {
        producer.beginTransaction();
        for (int j = 0; j < 2; j++) producer.send(new ProducerRecord<>(topic, j, "k" + j, "t" + i + "-r" + j));
        if (!group.equals("-"))
          producer.sendOffsetsToTransaction(
              Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(i + 1)), new ConsumerGroupMetadata(group));
        if ((i + 1) % abortEvery == 0) {
          producer.flush();
          producer.abortTransaction();
          out("abort " + i);
        } else {
          producer.commitTransaction();
          out("commit " + i);
        }
        printTxn(admin, txnId, String.valueOf(i));
      }
      for (int part = 0; part < 2; part++) {
        TopicPartition tp = new TopicPartition(topic, part);
        for (ProducerState ps : admin.describeProducers(List.of(tp)).partitionResult(tp).get(60, TimeUnit.SECONDS).activeProducers())
          out("producer " + part + " " + ps.producerId() + " " + ps.producerEpoch());
      }
    }
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
      long deadline = System.currentTimeMillis() + 90_000;
      long quietUntil = Long.MAX_VALUE;
      while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          out("rec " + r.partition() + " " + r.offset() + " " + r.value());
          n++;
        }
        if (n >= expected && quietUntil == Long.MAX_VALUE) quietUntil = System.currentTimeMillis() + 3000;
      }
      for (Map.Entry<TopicPartition, Long> e : c.endOffsets(tps).entrySet())
        out("end " + e.getKey().partition() + " " + e.getValue());
      for (TopicPartition tp : tps) out("position " + tp.partition() + " " + c.position(tp));
    }
  }

  static void fence(String bootstrap, String topic, String txnId, String how) throws Exception {
    KafkaProducer<String, String> a = producer(bootstrap, txnId);
    a.initTransactions();
    a.beginTransaction();
    a.send(new ProducerRecord<>(topic, 0, "a", "from-a")).get(60, TimeUnit.SECONDS);
    out("a-sent");
    try (KafkaProducer<String, String> b = producer(bootstrap, txnId)) {
      b.initTransactions();
      out("b-initialized");
      try {
        if (how.equals("send")) a.send(new ProducerRecord<>(topic, 0, "a", "from-a-after-fence")).get(60, TimeUnit.SECONDS);
        a.commitTransaction();
        out("a-committed");
      } catch (KafkaException e) {
        out("fenced " + e.getClass().getName());
      } catch (java.util.concurrent.ExecutionException e) {
        out("fenced " + e.getCause().getClass().getName());
      } finally {
        a.close(Duration.ofSeconds(5));
      }
      b.beginTransaction();
      b.send(new ProducerRecord<>(topic, 0, "b", "from-b")).get(60, TimeUnit.SECONDS);
      b.commitTransaction();
      out("b-committed");
    }
  }

  static void ctp(String bootstrap, String in, String outTopic, String group, String txnId, int count) throws Exception {
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50);
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer());
        KafkaProducer<String, String> p = producer(bootstrap, txnId)) {
      p.initTransactions();
      c.subscribe(List.of(in));
      int n = 0;
      long deadline = System.currentTimeMillis() + 120_000;
      while (n < count && System.currentTimeMillis() < deadline) {
        ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
        if (recs.isEmpty()) continue;
        p.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : recs) {
          p.send(new ProducerRecord<>(outTopic, r.partition(), r.key(), r.value().toUpperCase()));
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          n++;
        }
        p.sendOffsetsToTransaction(offsets, c.groupMetadata());
        p.commitTransaction();
        out("txn " + recs.count());
      }
      out("processed " + n);
    }
  }
}
