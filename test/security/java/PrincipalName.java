import java.io.FileInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

/**
 * Prints each PEM certificate's subject as Kafka sees it: X500Principal.getName() (RFC 2253), what
 * Kafka's DefaultKafkaPrincipalBuilder maps with ssl.principal.mapping.rules. One line per file.
 * Run as a single-file program: java PrincipalName.java a.crt b.crt …
 */
public class PrincipalName {
  public static void main(String[] args) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    for (String path : args) {
      try (FileInputStream in = new FileInputStream(path)) {
        X509Certificate c = (X509Certificate) cf.generateCertificate(in);
        System.out.println(c.getSubjectX500Principal().getName());
      }
    }
  }
}
