package org.flyte.auth.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A minimal JSON reader for the fixture's answers: objects, arrays, strings, numbers, literals. */
public final class Json {
  private final String s;
  private int i;

  private Json(String s) {
    this.s = s;
  }

  /** Parse {@code text}: Map, List, String, Double, Boolean or null. */
  public static Object parse(String text) {
    Json p = new Json(text);
    Object v = p.value();
    p.ws();
    if (p.i != text.length()) {
      throw new IllegalArgumentException("trailing characters at " + p.i);
    }
    return v;
  }

  /** Parse a JSON object. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> object(String text) {
    return (Map<String, Object>) parse(text);
  }

  /** The number at a path of object keys, 0 if absent. */
  @SuppressWarnings("unchecked")
  public static long number(Map<String, Object> o, String... path) {
    Object cur = o;
    for (String k : path) {
      if (!(cur instanceof Map)) {
        return 0;
      }
      cur = ((Map<String, Object>) cur).get(k);
    }
    return cur instanceof Double ? ((Double) cur).longValue() : 0;
  }

  private void ws() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
  }

  private Object value() {
    ws();
    char c = s.charAt(i);
    switch (c) {
      case '{':
        return obj();
      case '[':
        return arr();
      case '"':
        return str();
      case 't':
        i += 4;
        return Boolean.TRUE;
      case 'f':
        i += 5;
        return Boolean.FALSE;
      case 'n':
        i += 4;
        return null;
      default:
        int start = i;
        while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
          i++;
        }
        return Double.parseDouble(s.substring(start, i));
    }
  }

  private Map<String, Object> obj() {
    Map<String, Object> m = new LinkedHashMap<>();
    i++;
    ws();
    if (s.charAt(i) == '}') {
      i++;
      return m;
    }
    for (; ; ) {
      ws();
      String k = str();
      ws();
      i++; // ':'
      m.put(k, value());
      ws();
      if (s.charAt(i++) == '}') {
        return m;
      }
    }
  }

  private List<Object> arr() {
    List<Object> l = new ArrayList<>();
    i++;
    ws();
    if (s.charAt(i) == ']') {
      i++;
      return l;
    }
    for (; ; ) {
      l.add(value());
      ws();
      if (s.charAt(i++) == ']') {
        return l;
      }
    }
  }

  private String str() {
    StringBuilder b = new StringBuilder();
    i++;
    for (; ; ) {
      char c = s.charAt(i++);
      if (c == '"') {
        return b.toString();
      }
      if (c == '\\') {
        char e = s.charAt(i++);
        switch (e) {
          case 'n':
            b.append('\n');
            break;
          case 't':
            b.append('\t');
            break;
          case 'r':
            b.append('\r');
            break;
          case 'b':
            b.append('\b');
            break;
          case 'f':
            b.append('\f');
            break;
          case 'u':
            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
            break;
          default:
            b.append(e);
        }
      } else {
        b.append(c);
      }
    }
  }
}
