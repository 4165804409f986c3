/*
 * Prints Apache Kafka's own broker and topic config definitions, its dynamic-update rules and its
 * feature versions as JSON on stdout, read from Kafka's classes (the jars of the version named on
 * the class path), so that Sluice's table of Kafka's configs is generated, never typed.
 *
 * Run as a single-file program (no build step):
 *   java -cp "$HOME/.cache/sluice/kafka-4.4.0/*" tools/kafka-configs-gen/DumpKafkaConfigs.java
 * tools/kafka-configs-gen/main.ts runs it and writes src/common/kafka-configs.generated.ts.
 *
 * What it reads:
 * - broker keys: AbstractKafkaConfig.CONFIG_DEF (what KafkaConfig parses), plus the broker quota
 *   keys that only exist as dynamic configs (QuotaConfig.brokerQuotaConfigs());
 * - per key: type, default (as DescribeConfigs prints it: ConfigDef.convertToString), importance,
 *   validator (structure for the validators Kafka uses, its toString otherwise), documentation,
 *   internal flag, dynamic-update mode (DynamicBrokerConfig.dynamicConfigUpdateModes(): per-broker,
 *   cluster-wide; absent = read-only) and synonyms (DynamicBrokerConfig.brokerConfigSynonyms);
 * - topic keys: LogConfig.configKeys() and their broker synonyms with unit converters
 *   (ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS);
 * - features: org.apache.kafka.server.common.Feature (production features) and MetadataVersion.
 */

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.utils.internals.AppInfoParser;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.FeatureVersion;
import org.apache.kafka.server.common.MetadataVersion;
import org.apache.kafka.server.config.AbstractKafkaConfig;
import org.apache.kafka.server.config.ConfigSynonym;
import org.apache.kafka.server.config.DynamicBrokerConfig;
import org.apache.kafka.server.config.QuotaConfig;
import org.apache.kafka.server.config.ServerTopicConfigSynonyms;
import org.apache.kafka.storage.internals.log.LogConfig;

public class DumpKafkaConfigs {
  public static void main(String[] args) throws Exception {
    StringBuilder out = new StringBuilder();
    out.append("{\n");
    out.append("  \"kafkaVersion\": ").append(str(AppInfoParser.getVersion())).append(",\n");

    Map<String, String> modes = DynamicBrokerConfig.dynamicConfigUpdateModes();
    Map<String, ConfigDef.ConfigKey> broker = new TreeMap<>(AbstractKafkaConfig.CONFIG_DEF.configKeys());
    Set<String> inConfigDef = broker.keySet();
    Map<String, ConfigDef.ConfigKey> quota = QuotaConfig.brokerQuotaConfigs().configKeys();
    List<String> brokerEntries = new ArrayList<>();
    Map<String, ConfigDef.ConfigKey> all = new TreeMap<>(broker);
    for (var e : quota.entrySet()) all.putIfAbsent(e.getKey(), e.getValue());
    for (var e : all.entrySet()) {
      ConfigDef.ConfigKey k = e.getValue();
      StringBuilder b = new StringBuilder();
      b.append("    {");
      key(b, k);
      b.append(", \"inConfigDef\": ").append(inConfigDef.contains(k.name));
      String mode = modes.get(k.name);
      b.append(", \"dynamic\": ").append(str(mode == null ? "read-only" : mode));
      b.append(", \"synonyms\": ").append(strList(DynamicBrokerConfig.brokerConfigSynonyms(k.name, true)));
      b.append("}");
      brokerEntries.add(b.toString());
    }
    out.append("  \"broker\": [\n").append(String.join(",\n", brokerEntries)).append("\n  ],\n");

    // Dynamic keys with no ConfigDef entry of their own (none in 4.4, kept visible if one appears).
    List<String> dynamicOnly = new ArrayList<>();
    for (String name : new TreeMap<>(modes).keySet()) if (!all.containsKey(name)) dynamicOnly.add(name);
    out.append("  \"dynamicWithoutDefinition\": ").append(strList(dynamicOnly)).append(",\n");
    // Security keys that may only be updated per listener (listener.name.<l>.<key>).
    out.append("  \"listenerOnlySecurityConfigs\": ")
        .append(strList(DynamicBrokerConfig.DYNAMIC_SECURITY_CONFIGS)).append(",\n");

    List<String> topicEntries = new ArrayList<>();
    for (var e : new TreeMap<>(LogConfig.configKeys()).entrySet()) {
      ConfigDef.ConfigKey k = e.getValue();
      StringBuilder b = new StringBuilder();
      b.append("    {");
      key(b, k);
      List<String> syn = new ArrayList<>();
      List<ConfigSynonym> synonyms = ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS.get(k.name);
      if (synonyms != null) {
        for (ConfigSynonym s : synonyms) {
          // A converter is identity or a unit change (hours/minutes → ms): apply it to 1 to know which.
          String one = s.converter().apply("1");
          syn.add("{\"name\": " + str(s.name()) + ", \"scale\": " + Long.parseLong(one) + "}");
        }
      }
      b.append(", \"brokerSynonyms\": [").append(String.join(", ", syn)).append("]");
      b.append("}");
      topicEntries.add(b.toString());
    }
    out.append("  \"topic\": [\n").append(String.join(",\n", topicEntries)).append("\n  ],\n");

    List<String> mvs = new ArrayList<>();
    for (MetadataVersion mv : MetadataVersion.values()) {
      mvs.add(
          "    {\"level\": " + mv.featureLevel() + ", \"version\": " + str(mv.version())
              + ", \"didMetadataChange\": " + mv.didMetadataChange()
              + ", \"production\": " + mv.isProduction() + "}");
    }
    out.append("  \"metadataVersions\": [\n").append(String.join(",\n", mvs)).append("\n  ],\n");
    out.append("  \"metadataVersionMinimum\": ").append(MetadataVersion.MINIMUM_VERSION.featureLevel()).append(",\n");
    out.append("  \"metadataVersionLatestProduction\": ")
        .append(MetadataVersion.LATEST_PRODUCTION.featureLevel()).append(",\n");

    List<String> features = new ArrayList<>();
    for (Feature f : Feature.PRODUCTION_FEATURES) {
      List<String> levels = new ArrayList<>();
      for (FeatureVersion v : f.featureVersions()) {
        List<String> deps = new ArrayList<>();
        for (var d : new TreeMap<>(v.dependencies()).entrySet())
          deps.add(str(d.getKey()) + ": " + d.getValue());
        levels.add(
            "{\"level\": " + v.featureLevel() + ", \"bootstrapMetadataVersion\": "
                + v.bootstrapMetadataVersion().featureLevel() + ", \"dependencies\": {"
                + String.join(", ", deps) + "}}");
      }
      features.add(
          "    {\"name\": " + str(f.featureName()) + ", \"minimumProduction\": " + f.minimumProduction()
              + ", \"latestProduction\": " + f.latestProduction() + ", \"latestTesting\": "
              + f.latestTesting() + ", \"levels\": [" + String.join(", ", levels) + "]}");
    }
    out.append("  \"features\": [\n").append(String.join(",\n", features)).append("\n  ]\n");
    out.append("}\n");
    System.out.print(out);
  }

  static void key(StringBuilder b, ConfigDef.ConfigKey k) throws Exception {
    b.append("\"name\": ").append(str(k.name));
    b.append(", \"type\": ").append(str(k.type.name().toLowerCase()));
    boolean hasDefault = k.hasDefault();
    b.append(", \"hasDefault\": ").append(hasDefault);
    b.append(", \"default\": ")
        .append(hasDefault ? str(ConfigDef.convertToString(k.defaultValue, k.type)) : "null");
    b.append(", \"importance\": ").append(str(k.importance.name().toLowerCase()));
    b.append(", \"internal\": ").append(k.internalConfig);
    b.append(", \"validator\": ").append(validator(k.validator));
    b.append(", \"doc\": ").append(str(k.documentation == null ? "" : k.documentation));
  }

  /** A validator as data: the shapes Kafka's ConfigDef offers, or its description when opaque. */
  static String validator(ConfigDef.Validator v) throws Exception {
    if (v == null) return "null";
    String text = str(v.toString());
    if (v instanceof ConfigDef.Range) {
      Object min = field(v, "min"), max = field(v, "max");
      return "{\"kind\": \"range\", \"min\": " + num(min) + ", \"max\": " + num(max) + ", \"text\": " + text + "}";
    }
    if (v instanceof ConfigDef.ValidString) {
      return "{\"kind\": \"in\", \"values\": " + strList((Collection<?>) field(v, "validStrings")) + ", \"text\": " + text + "}";
    }
    if (v instanceof ConfigDef.CaseInsensitiveValidString) {
      return "{\"kind\": \"inIgnoreCase\", \"values\": " + strList((Collection<?>) field(v, "validStrings"))
          + ", \"text\": " + text + "}";
    }
    if (v instanceof ConfigDef.ValidList) {
      Object vs = field(v, "validString");
      return "{\"kind\": \"list\", \"values\": " + strList((Collection<?>) field(vs, "validStrings"))
          + ", \"emptyAllowed\": " + field(v, "isEmptyAllowed") + ", \"nullAllowed\": " + field(v, "isNullAllowed")
          + ", \"text\": " + text + "}";
    }
    if (v instanceof ConfigDef.NonEmptyString) return "{\"kind\": \"nonEmpty\", \"text\": " + text + "}";
    if (v instanceof ConfigDef.NonEmptyStringWithoutControlChars)
      return "{\"kind\": \"nonEmptyNoControl\", \"text\": " + text + "}";
    if (v instanceof ConfigDef.NonNullValidator) return "{\"kind\": \"nonNull\", \"text\": " + text + "}";
    if (v instanceof ConfigDef.ListSize)
      return "{\"kind\": \"listSize\", \"max\": " + field(v, "maxSize") + ", \"text\": " + text + "}";
    if (v instanceof ConfigDef.CompositeValidator) {
      List<String> parts = new ArrayList<>();
      for (Object p : (List<?>) field(v, "validators")) parts.add(validator((ConfigDef.Validator) p));
      return "{\"kind\": \"all\", \"of\": [" + String.join(", ", parts) + "], \"text\": " + text + "}";
    }
    return "{\"kind\": \"opaque\", \"class\": " + str(v.getClass().getName()) + ", \"text\": " + text + "}";
  }

  static Object field(Object o, String name) throws Exception {
    Class<?> c = o.getClass();
    while (c != null) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
      } catch (NoSuchFieldException e) {
        c = c.getSuperclass();
      }
    }
    throw new NoSuchFieldException(name);
  }

  /** A bound as Java prints it (String.valueOf: 1048576, 0.0, 9223372036854775807), for the messages. */
  static String num(Object n) {
    return n == null ? "null" : str(String.valueOf(n));
  }

  static String strList(Collection<?> c) {
    List<String> parts = new ArrayList<>();
    for (Object o : c) parts.add(str(String.valueOf(o)));
    if (c instanceof Set) parts.sort(null);
    return "[" + String.join(", ", parts) + "]";
  }

  static String str(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
          else b.append(ch);
        }
      }
    }
    return b.append('"').toString();
  }
}
