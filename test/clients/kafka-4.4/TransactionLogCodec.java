// Kafka 4.4's own encoding and decoding of __transaction_state records (TransactionLog in
// kafka-transaction-coordinator), for test/broker/txn/transaction-log.test.ts to compare Sluice's bytes
// with. Run on the jars of test/clients/kafka-4.4 (ensureKafkaTools):
//   java -cp '<lib>/*' TransactionLogCodec.java encode   → one JSON line per case: name, key and value hex
//   java -cp '<lib>/*' TransactionLogCodec.java decode <keyHex> <valueHex|null> [<keyHex> <valueHex|null> …]
//                                                        → one JSON line per record: what Kafka reads from it
import java.nio.ByteBuffer;
import java.util.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.coordinator.transaction.TransactionLog;
import org.apache.kafka.coordinator.transaction.TransactionMetadata;
import org.apache.kafka.coordinator.transaction.TransactionState;
import org.apache.kafka.coordinator.transaction.TxnTransitMetadata;
import org.apache.kafka.server.common.TransactionVersion;

public class TransactionLogCodec {
  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) sb.append(String.format("%02x", x));
    return sb.toString();
  }

  static byte[] unhex(String s) {
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  static HashSet<TopicPartition> tps(Object... topicAndPartitions) {
    HashSet<TopicPartition> s = new HashSet<>();
    for (int i = 0; i < topicAndPartitions.length; i += 2)
      s.add(new TopicPartition((String) topicAndPartitions[i], (Integer) topicAndPartitions[i + 1]));
    return s;
  }

  static void emit(String name, String id, TxnTransitMetadata t, int logTv) {
    byte[] key = TransactionLog.keyToBytes(id);
    byte[] value = TransactionLog.valueToBytes(t, TransactionVersion.fromFeatureLevel((short) logTv));
    System.out.println("{\"name\":\"" + name + "\",\"key\":\"" + hex(key) + "\",\"value\":\"" + hex(value) + "\"}");
  }

  public static void main(String[] args) {
    if (args[0].equals("encode")) {
      // TxnTransitMetadata(producerId, prevProducerId, nextProducerId, producerEpoch, lastProducerEpoch,
      //   txnTimeoutMs, state, partitions, txnStartTimestamp, txnLastUpdateTimestamp, clientTransactionVersion)
      emit("empty-v0", "txn-1",
          new TxnTransitMetadata(1000L, 1000L, -1L, (short) 0, (short) -1, 60000, TransactionState.EMPTY,
              tps(), -1L, 1700000000000L, TransactionVersion.TV_0), 0);
      emit("ongoing-v0", "txn-1",
          new TxnTransitMetadata(1000L, 1000L, -1L, (short) 3, (short) -1, 60000, TransactionState.ONGOING,
              tps("orders", 2), 1700000000100L, 1700000000200L, TransactionVersion.TV_0), 0);
      emit("prepare-commit-v0", "producer-é",
          new TxnTransitMetadata(7L, 7L, -1L, (short) 12, (short) -1, 900000, TransactionState.PREPARE_COMMIT,
              tps("orders", 0, "payments", 5), 1700000000100L, 1700000000300L, TransactionVersion.TV_0), 0);
      emit("complete-abort-v0", "txn-1",
          new TxnTransitMetadata(1000L, 1000L, -1L, (short) 3, (short) -1, 60000, TransactionState.COMPLETE_ABORT,
              tps(), 1700000000100L, 1700000000400L, TransactionVersion.TV_0), 0);
      emit("empty-v1", "txn-2",
          new TxnTransitMetadata(4242L, 4242L, -1L, (short) 0, (short) -1, 60000, TransactionState.EMPTY,
              tps(), -1L, 1700000000000L, TransactionVersion.TV_0), 1);
      emit("ongoing-v1-tv2", "txn-2",
          new TxnTransitMetadata(4242L, 4242L, -1L, (short) 5, (short) 4, 60000, TransactionState.ONGOING,
              tps("orders", 1), 1700000000100L, 1700000000200L, TransactionVersion.TV_2), 2);
      emit("prepare-abort-v1-next-pid", "txn-2",
          new TxnTransitMetadata(4242L, 4242L, 5000L, (short) 32767, (short) 32766, 60000, TransactionState.PREPARE_ABORT,
              tps("payments", 3), 1700000000100L, 1700000000500L, TransactionVersion.TV_2), 2);
      emit("complete-commit-v1-rotated", "txn-2",
          new TxnTransitMetadata(5000L, 4242L, -1L, (short) 0, (short) 32766, 60000, TransactionState.COMPLETE_COMMIT,
              tps(), 1700000000100L, 1700000000600L, TransactionVersion.TV_2), 2);
      emit("dead-v0", "txn-3",
          new TxnTransitMetadata(9L, 9L, -1L, (short) 1, (short) -1, 60000, TransactionState.DEAD,
              tps(), -1L, 1700000000000L, TransactionVersion.TV_0), 0);
    } else {
      for (int i = 1; i + 1 < args.length; i += 2) decode(args[i], args[i + 1]);
    }
  }

  static void decode(String keyHex, String valueHex) {
    {
      ByteBuffer key = ByteBuffer.wrap(unhex(keyHex));
      ByteBuffer value = valueHex.equals("null") ? null : ByteBuffer.wrap(unhex(valueHex));
      TransactionLog.ReadResult r = TransactionLog.read(key, value);
      if (r instanceof TransactionLog.TxnRecord rec) {
        TransactionMetadata m = rec.metadata();
        List<String> parts = new ArrayList<>();
        for (TopicPartition tp : m.topicPartitions()) parts.add("\"" + tp.topic() + "-" + tp.partition() + "\"");
        Collections.sort(parts);
        System.out.println("{\"kind\":\"metadata\",\"transactionalIdHex\":\"" + hex(rec.transactionId().getBytes(java.nio.charset.StandardCharsets.UTF_8))
            + "\",\"producerId\":" + m.producerId() + ",\"prevProducerId\":" + m.prevProducerId()
            + ",\"producerEpoch\":" + m.producerEpoch()
            + ",\"txnTimeoutMs\":" + m.txnTimeoutMs() + ",\"state\":\"" + m.state().stateName()
            + "\",\"partitions\":" + parts + ",\"txnStartTimestamp\":" + m.txnStartTimestamp()
            + ",\"txnLastUpdateTimestamp\":" + m.txnLastUpdateTimestamp()
            + ",\"clientTransactionVersion\":" + m.clientTransactionVersion().featureLevel() + "}");
      } else if (r instanceof TransactionLog.TxnTombstone t) {
        System.out.println("{\"kind\":\"tombstone\",\"transactionalIdHex\":\"" + hex(t.transactionId().getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "\"}");
      } else {
        System.out.println("{\"kind\":\"unknown\",\"what\":\"" + r + "\"}");
      }
    }
  }
}
