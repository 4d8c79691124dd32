import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

/**
 * Sets SCRAM-SHA-512 credentials on a broker. Reads "user<TAB>password" lines from stdin, so passwords never appear on
 * a command line; prints one "ok <user>" line per user. Usage: java -cp 'kafka/lib/*' ScramUsers.java <bootstrap>
 */
public class ScramUsers {
  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: ScramUsers <bootstrap>");
      System.exit(2);
    }
    List<UserScramCredentialAlteration> alterations = new ArrayList<>();
    List<String> users = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isEmpty()) continue;
      int tab = line.indexOf('\t');
      if (tab <= 0) {
        System.err.println("malformed input line");
        System.exit(2);
      }
      String user = line.substring(0, tab);
      users.add(user);
      alterations.add(new UserScramCredentialUpsertion(user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), line.substring(tab + 1)));
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(props)) {
      admin.alterUserScramCredentials(alterations).all().get();
    }
    for (String user : users) System.out.println("ok " + user);
  }
}
