// The partition Kafka's Java producer picks for a key (murmur2, as in
// DefaultPartitioner / BuiltInPartitioner), one key per line of stdin.
// Run from the broker's jars: java -cp 'libs/*' Partition.java <partitions>
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

public class Partition {
  public static void main(String[] args) throws IOException {
    int partitions = Integer.parseInt(args[0]);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      System.out.println(BuiltInPartitioner.partitionForKey(line.getBytes(StandardCharsets.UTF_8), partitions));
    }
  }
}
