package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flyte.auth.testing.Json;
import org.junit.jupiter.api.Test;

/**
 * The GraalVM native-image metadata in the jar ({@code META-INF/native-image/org.flyte/flyteauth})
 * cannot drift from the code: every class, method and field the JNI C glue looks up is in {@code
 * jni-config.json}, every entry there (and in {@code reflect-config.json}, for our own classes)
 * exists, and the resource pattern matches the native library of this platform.
 */
class NativeImageMetadataTest {
  private static final String DIR = "/META-INF/native-image/org.flyte/flyteauth/";
  private static final Path GLUE = Paths.get("src/main/c/flyteauth_jni.c");

  private static String resource(String name) throws IOException {
    try (InputStream in = NativeImageMetadataTest.class.getResourceAsStream(DIR + name)) {
      assertNotNull(in, DIR + name + " is in the jar");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** "Ljava/lang/String;" -> "java.lang.String", "I" -> "int", "[B" -> "byte[]". */
  static List<String> parameterTypes(String descriptor) {
    List<String> out = new ArrayList<>();
    String params = descriptor.substring(1, descriptor.indexOf(')'));
    for (int i = 0; i < params.length(); ) {
      int dims = 0;
      while (params.charAt(i) == '[') {
        dims++;
        i++;
      }
      String type;
      char c = params.charAt(i);
      if (c == 'L') {
        int end = params.indexOf(';', i);
        type = params.substring(i + 1, end).replace('/', '.');
        i = end + 1;
      } else {
        type = primitive(c);
        i++;
      }
      StringBuilder b = new StringBuilder(type);
      for (int d = 0; d < dims; d++) {
        b.append("[]");
      }
      out.add(b.toString());
    }
    return out;
  }

  private static String primitive(char c) {
    switch (c) {
      case 'Z': return "boolean";
      case 'B': return "byte";
      case 'C': return "char";
      case 'S': return "short";
      case 'I': return "int";
      case 'J': return "long";
      case 'F': return "float";
      case 'D': return "double";
      default: throw new IllegalArgumentException("descriptor char " + c);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> byName(Object parsed) {
    Map<String, Map<String, Object>> m = new HashMap<>();
    for (Object o : (List<Object>) parsed) {
      Map<String, Object> e = (Map<String, Object>) o;
      m.put((String) e.get("name"), e);
    }
    return m;
  }

  @SuppressWarnings("unchecked")
  private static boolean listsMember(Map<String, Object> entry, String key, String name, List<String> params) {
    Object members = entry.get(key);
    if (members == null) {
      return false;
    }
    for (Object o : (List<Object>) members) {
      Map<String, Object> m = (Map<String, Object>) o;
      if (name.equals(m.get("name")) && (params == null || params.equals(m.get("parameterTypes")))) {
        return true;
      }
    }
    return false;
  }

  @Test
  void everyLookupOfTheJniGlueIsInJniConfig() throws Exception {
    String c = new String(Files.readAllBytes(GLUE), StandardCharsets.UTF_8);
    Map<String, Map<String, Object>> config = byName(Json.parse(resource("jni-config.json")));

    // jclass <var> = (*env)->FindClass(env, "<class>");
    Map<String, String> classOf = new HashMap<>();
    Matcher find =
        Pattern.compile("jclass\\s+(\\w+)\\s*=\\s*\\(\\*env\\)->FindClass\\(\\s*env\\s*,\\s*\"([^\"]+)\"\\s*\\)")
            .matcher(c);
    int classes = 0;
    while (find.find()) {
      String name = find.group(2).replace('/', '.');
      classOf.put(find.group(1), name);
      assertTrue(config.containsKey(name), "jni-config.json lists " + name);
      classes++;
    }
    // Every FindClass is of that form (else this parser would miss one).
    assertTrue(classes == count(c, "FindClass("), "every FindClass call was parsed");

    Matcher member =
        Pattern.compile(
                "(Get(?:Static)?MethodID|Get(?:Static)?FieldID)\\(\\s*env\\s*,\\s*(\\w+)\\s*,\\s*\"([^\"]+)\"\\s*,\\s*\"([^\"]+)\"\\s*\\)")
            .matcher(c);
    int members = 0;
    while (member.find()) {
      String cls = classOf.get(member.group(2));
      assertNotNull(cls, "the class of " + member.group(0));
      boolean field = member.group(1).contains("Field");
      String name = member.group(3);
      boolean listed =
          field
              ? listsMember(config.get(cls), "fields", name, null)
              : listsMember(config.get(cls), "methods", name, parameterTypes(member.group(4)));
      assertTrue(listed, () -> "jni-config.json lists " + cls + "." + name + " " + member.group(4));
      members++;
    }
    assertTrue(members > 0);
    assertTrue(
        members == count(c, "MethodID(") + count(c, "FieldID("), "every member lookup was parsed");

    // ThrowNew(env, cls, msg) constructs the class with a String: its constructor is listed.
    if (c.contains("ThrowNew(")) {
      assertTrue(
          listsMember(
              config.get("java.lang.OutOfMemoryError"),
              "methods",
              "<init>",
              java.util.Collections.singletonList("java.lang.String")));
    }
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyListedMemberExists() throws Exception {
    for (String file : new String[] {"jni-config.json", "reflect-config.json"}) {
      for (Object o : (List<Object>) Json.parse(resource(file))) {
        Map<String, Object> e = (Map<String, Object>) o;
        String name = (String) e.get("name");
        Class<?> cls;
        try {
          cls = Class.forName(name, false, getClass().getClassLoader());
        } catch (ClassNotFoundException missing) {
          assertFalse(name.startsWith("org.flyte."), file + ": " + name + " does not exist");
          continue;
        }
        Object methods = e.get("methods");
        if (methods == null) {
          continue;
        }
        for (Object mo : (List<Object>) methods) {
          Map<String, Object> m = (Map<String, Object>) mo;
          List<Object> types = (List<Object>) m.get("parameterTypes");
          Class<?>[] params = new Class<?>[types.size()];
          for (int i = 0; i < params.length; i++) {
            params[i] = classFor((String) types.get(i));
          }
          try {
            if ("<init>".equals(m.get("name"))) {
              cls.getDeclaredConstructor(params);
            } else {
              cls.getDeclaredMethod((String) m.get("name"), params);
            }
          } catch (NoSuchMethodException missing) {
            // Thread.isVirtual exists from Java 21 only.
            assertFalse(name.startsWith("org.flyte."), file + ": " + name + "." + m.get("name"));
          }
        }
      }
    }
  }

  private static Class<?> classFor(String type) throws ClassNotFoundException {
    switch (type) {
      case "int": return int.class;
      case "long": return long.class;
      case "boolean": return boolean.class;
      case "byte": return byte.class;
      default: return Class.forName(type);
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void theResourcePatternMatchesTheBundledLibrary() throws Exception {
    Map<String, Object> config = Json.object(resource("resource-config.json"));
    List<Object> includes = (List<Object>) ((Map<String, Object>) config.get("resources")).get("includes");
    String pattern = (String) ((Map<String, Object>) includes.get(0)).get("pattern");
    String ours = NativeLibrary.current().resource();
    assertTrue(Pattern.matches(pattern, ours), pattern + " matches " + ours);
    for (String other : new String[] {"native/osx-aarch64/libflyteauth_jni.dylib", "native/windows-x86_64/flyteauth_jni.dll"}) {
      assertTrue(Pattern.matches(pattern, other), pattern + " matches " + other);
    }
    assertTrue(resource("native-image.properties").contains("--initialize-at-run-time=org.flyte.auth"));
  }
}
