// Transactional produce throughput for bench/scenarios/transactions.ts, with kafka-clients 4.4.0
// (the jars of test/clients/java/pom.xml, ~/.cache/sluice/java-clients-4.4.0), run from source.
// Usage: java -cp 'lib/*' TxnBench.java <bootstrap> <topic> <perTxn> <valueBytes> <warmupS> <seconds>
// One transactional producer (acks=all, idempotent, linger.ms 5, as a transactional producer is
// configured), transactions of <perTxn> records of <valueBytes> spread round robin over the topic's
// partitions, committed back to back: beginTransaction, <perTxn> sends, commitTransaction. The first
// <warmupS> seconds are not counted; then for <seconds> it prints at the end
//   result <txns> <records> <bytes> <elapsedMs> <commitP50Ms> <commitP99Ms>
// (commit latency: the commitTransaction call, which flushes the transaction's records and waits
// for EndTxn).
import java.util.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.*;

public class TxnBench {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    int perTxn = Integer.parseInt(args[2]), size = Integer.parseInt(args[3]);
    long warmupMs = Long.parseLong(args[4]) * 1000, runMs = Long.parseLong(args[5]) * 1000;
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "txn-bench-" + topic);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    byte[] value = new byte[size];
    Arrays.fill(value, (byte) 'x');
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer.initTransactions();
      int partitions = producer.partitionsFor(topic).size();
      long start = System.currentTimeMillis();
      long measureFrom = start + warmupMs, end = measureFrom + runMs;
      long txns = 0, records = 0;
      List<Double> commits = new ArrayList<>();
      int next = 0;
      for (;;) {
        long now = System.currentTimeMillis();
        if (now >= end) break;
        boolean counted = now >= measureFrom;
        producer.beginTransaction();
        for (int i = 0; i < perTxn; i++) producer.send(new ProducerRecord<>(topic, next++ % partitions, null, value));
        long c0 = System.nanoTime();
        producer.commitTransaction();
        if (counted) {
          commits.add((System.nanoTime() - c0) / 1e6);
          txns++;
          records += perTxn;
        }
      }
      long elapsed = System.currentTimeMillis() - Math.max(measureFrom, start);
      Collections.sort(commits);
      double p50 = commits.isEmpty() ? Double.NaN : commits.get((int) Math.min(commits.size() - 1, Math.ceil(0.5 * commits.size()) - 1));
      double p99 = commits.isEmpty() ? Double.NaN : commits.get((int) Math.min(commits.size() - 1, Math.ceil(0.99 * commits.size()) - 1));
      System.out.println("result " + txns + " " + records + " " + records * size + " " + elapsed + " " + p50 + " " + p99);
    }
  }
}
