package org.flyte.auth.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions on credentials that never print them (a failure shows lengths and hashes only). */
public final class Secrets {
  private Secrets() {}

  private static String describe(String v) {
    return v == null ? "null" : "<" + v.length() + " chars, hash " + Integer.toHexString(v.hashCode()) + ">";
  }

  /** {@code actual} is the same credential as {@code expected}. */
  public static void assertSame(String expected, String actual, String what) {
    assertTrue(
        expected != null && expected.equals(actual),
        () -> what + ": expected " + describe(expected) + ", got " + describe(actual));
  }

  /** {@code actual} is a different credential than {@code old}. */
  public static void assertDifferent(String old, String actual, String what) {
    assertTrue(
        actual != null && !actual.equals(old),
        () -> what + ": expected a credential other than " + describe(old) + ", got " + describe(actual));
  }
}
