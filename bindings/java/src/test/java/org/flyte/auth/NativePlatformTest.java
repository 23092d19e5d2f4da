package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which native directory and file the loader picks for each os.name / os.arch / libc (pure
 * functions, so every platform is checked here), what it says when there is none, the libc
 * detection, and the extraction per OS.
 */
class NativePlatformTest {

  @ParameterizedTest(name = "{0} / {1} / musl={2} -> {3}/{4}")
  @CsvSource({
    // os.name,             os.arch,  musl,  directory,            file
    "Linux,                 amd64,    false, linux-x86_64,         libflyteauth_jni.so",
    "Linux,                 x86_64,   false, linux-x86_64,         libflyteauth_jni.so",
    "Linux,                 amd64,    true,  linux-x86_64-musl,    libflyteauth_jni.so",
    "Linux,                 aarch64,  false, linux-aarch64,        libflyteauth_jni.so",
    "Linux,                 aarch64,  true,  linux-aarch64-musl,   libflyteauth_jni.so",
    "Linux,                 arm64,    false, linux-aarch64,        libflyteauth_jni.so",
    "Mac OS X,              x86_64,   false, osx-x86_64,           libflyteauth_jni.dylib",
    "Mac OS X,              aarch64,  false, osx-aarch64,          libflyteauth_jni.dylib",
    "Darwin,                arm64,    false, osx-aarch64,          libflyteauth_jni.dylib",
    // musl is a Linux notion: ignored elsewhere
    "Mac OS X,              aarch64,  true,  osx-aarch64,          libflyteauth_jni.dylib",
    "Windows 11,            amd64,    false, windows-x86_64,       flyteauth_jni.dll",
    "Windows Server 2022,   amd64,    true,  windows-x86_64,       flyteauth_jni.dll",
    "Windows 11,            aarch64,  false, windows-aarch64,      flyteauth_jni.dll",
    // unknowns: normalised, never shipped, named in the error
    "Linux,                 ppc64le,  false, linux-ppc64le,        libflyteauth_jni.so",
    "Linux,                 riscv64,  true,  linux-riscv64-musl,   libflyteauth_jni.so",
    "Linux,                 i386,     false, linux-x86,            libflyteauth_jni.so",
    "FreeBSD,               amd64,    false, freebsd-x86_64,       libflyteauth_jni.so",
    "SunOS,                 sparcv9,  false, sunos-sparcv9,        libflyteauth_jni.so",
    "'',                    '',       false, unknown-unknown,      libflyteauth_jni.so",
  })
  void directoryAndFileForEachPlatform(
      String osName, String osArch, boolean musl, String directory, String file) {
    NativeLibrary.Platform p = NativeLibrary.platform(osName, osArch, musl);
    assertEquals(directory, p.directory());
    assertEquals(file, p.fileName());
    assertEquals("native/" + directory + "/" + file, p.resource());
    assertEquals(file.substring(file.lastIndexOf('.')), p.suffix());
  }

  @Test
  void everyKnownDirectoryIsWhatSomePlatformPicks() {
    Set<String> picked = new HashSet<>();
    for (String os : List.of("Linux", "Mac OS X", "Windows 10")) {
      for (String arch : List.of("amd64", "aarch64")) {
        for (boolean musl : new boolean[] {false, true}) {
          picked.add(NativeLibrary.platform(os, arch, musl).directory());
        }
      }
    }
    assertEquals(new HashSet<>(NativeLibrary.KNOWN_DIRECTORIES), picked);
  }

  @Test
  void theFileNameIsTheJvmsMappedNameOnThisOs() {
    assertEquals(System.mapLibraryName(NativeLibrary.NAME), NativeLibrary.current().fileName());
  }

  @Test
  void thisMachineIsGlibcLinux() {
    // The tests run on Debian x86_64 or aarch64: glibc, whatever musl files are installed.
    NativeLibrary.Platform p = NativeLibrary.current();
    assertEquals("linux", p.os);
    assertEquals(NativeLibrary.Libc.GLIBC, p.libc);
    assertFalse(NativeLibrary.isMusl());
    assertTrue(p.directory().equals("linux-x86_64") || p.directory().equals("linux-aarch64"));
  }

  @Test
  void libcFromTheProcessMappings() throws Exception {
    String glibc =
        "55d0c8a00000-55d0c8a01000 r--p 00000000 08:01 1234 /usr/lib/jvm/java-17/bin/java\n"
            + "7f1c2a000000-7f1c2a022000 r--p 00000000 08:01 2345 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
            + "7f1c2a400000-7f1c2a42a000 r--p 00000000 08:01 3456 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n";
    String oldGlibc =
        "7f1c2a000000-7f1c2a022000 r-xp 00000000 08:01 2345 /usr/lib64/libc-2.17.so\n";
    String musl =
        "7f5e1c000000-7f5e1c200000 rw-p 00000000 00:00 0 \n"
            + "7f5e1d000000-7f5e1d014000 r--p 00000000 00:2f 777 /usr/lib/jvm/java-17-openjdk/lib/server/libjvm.so\n"
            + "7f5e1e000000-7f5e1e014000 r--p 00000000 00:2f 888 /lib/ld-musl-x86_64.so.1\n";
    String muslAarch64 =
        "ffff8e000000-ffff8e014000 r-xp 00000000 00:2f 888 /lib/ld-musl-aarch64.so.1\n";
    String neither = "7f5e1c000000-7f5e1c200000 rw-p 00000000 00:00 0 [heap]\n";
    assertEquals(Boolean.FALSE, NativeLibrary.libcOfMaps(reader(glibc)));
    assertEquals(Boolean.FALSE, NativeLibrary.libcOfMaps(reader(oldGlibc)));
    assertEquals(Boolean.TRUE, NativeLibrary.libcOfMaps(reader(musl)));
    assertEquals(Boolean.TRUE, NativeLibrary.libcOfMaps(reader(muslAarch64)));
    assertNull(NativeLibrary.libcOfMaps(reader(neither)));
  }

  private static BufferedReader reader(String s) {
    return new BufferedReader(new StringReader(s));
  }

  @Test
  void theErrorNamesWhatWasDetectedLookedForAndCarried() {
    NativeLibrary.Platform alpine = NativeLibrary.platform("Linux", "amd64", true);
    String m =
        NativeLibrary.notFoundMessage(
            alpine, "/usr/java/packages/lib:/lib", List.of("linux-x86_64", "linux-aarch64"));
    assertEquals(
        "flyteauth: no native library for linux-x86_64-musl: detected os linux, arch x86_64, libc"
            + " musl (os.name \"Linux\", os.arch \"amd64\"). Looked for -Dflyteauth.library.path"
            + " (unset), libflyteauth_jni.so in java.library.path (/usr/java/packages/lib:/lib),"
            + " and native/linux-x86_64-musl/libflyteauth_jni.so on the class path, whose"
            + " flyteauth jars carry native/{linux-x86_64, linux-aarch64}. Use the flyteauth jar"
            + " that includes linux-x86_64-musl, or build libflyteauth_jni.so for it"
            + " (bindings/java/build-native.sh) and pass"
            + " -Dflyteauth.library.path=/path/to/libflyteauth_jni.so.",
        m);

    String windows =
        NativeLibrary.notFoundMessage(
            NativeLibrary.platform("Windows 11", "aarch64", false), "", List.of());
    assertTrue(windows.contains("no native library for windows-aarch64"), windows);
    assertTrue(windows.contains("os windows, arch aarch64 (os.name"), windows); // no libc off Linux
    assertTrue(windows.contains("flyteauth_jni.dll in java.library.path (empty)"), windows);
    assertTrue(windows.contains("carry no native library at all"), windows);

    String mac =
        NativeLibrary.notFoundMessage(
            NativeLibrary.platform("Mac OS X", "x86_64", false), "", List.of("osx-aarch64"));
    assertTrue(mac.contains("native/osx-x86_64/libflyteauth_jni.dylib"), mac);
    assertTrue(mac.contains("carry native/{osx-aarch64}"), mac);
  }

  /** The whole failure path of load(), on a platform nobody builds for. */
  @Test
  void loadingOnAnUnknownArchitectureSaysWhatTheJarHas() {
    String arch = System.getProperty("os.arch");
    String explicit = System.getProperty(NativeLibrary.PATH_PROPERTY);
    String libraryPath = System.getProperty("java.library.path");
    try {
      System.setProperty("os.arch", "sparcv9");
      System.clearProperty(NativeLibrary.PATH_PROPERTY);
      System.setProperty("java.library.path", "/nonexistent");
      UnsatisfiedLinkError e =
          assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.load(path -> {}));
      String m = e.getMessage();
      assertTrue(m.startsWith("flyteauth: no native library for linux-sparcv9: "), m);
      assertTrue(m.contains("libc glibc (os.name \"Linux\", os.arch \"sparcv9\")"), m);
      // the test class path has the natives build-native.sh built, this machine's among them
      String thisMachine = arch.equals("amd64") ? "linux-x86_64" : "linux-aarch64";
      assertTrue(NativeLibrary.carried().contains(thisMachine), NativeLibrary.carried()::toString);
      assertTrue(m.contains("carry native/{") && m.contains(thisMachine), m);
    } finally {
      System.setProperty("os.arch", arch);
      restore(NativeLibrary.PATH_PROPERTY, explicit);
      restore("java.library.path", libraryPath);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  @Test
  void linuxAndMacExtractToAFreshFileWithTheirSuffix(@TempDir Path dir) throws Exception {
    byte[] lib = "not really a library".getBytes(StandardCharsets.UTF_8);
    Path so =
        NativeLibrary.extract(
            new ByteArrayInputStream(lib), NativeLibrary.platform("Linux", "amd64", false), dir);
    Path so2 =
        NativeLibrary.extract(
            new ByteArrayInputStream(lib), NativeLibrary.platform("Linux", "amd64", false), dir);
    Path dylib =
        NativeLibrary.extract(
            new ByteArrayInputStream(lib), NativeLibrary.platform("Mac OS X", "aarch64", false), dir);
    assertTrue(so.getFileName().toString().matches("libflyteauth_jni-.*\\.so"), so.toString());
    assertNotEquals(so, so2, "one file per load: load() deletes it once mapped");
    assertTrue(dylib.getFileName().toString().endsWith(".dylib"), dylib.toString());
    assertEquals(List.of(so, so2, dylib).size(), files(dir).size());
  }

  @Test
  void windowsKeepsOneCopyPerLibraryNamedByItsContent(@TempDir Path dir) throws Exception {
    NativeLibrary.Platform win = NativeLibrary.platform("Windows 10", "amd64", false);
    byte[] v1 = "library one".getBytes(StandardCharsets.UTF_8);
    byte[] v2 = "library two".getBytes(StandardCharsets.UTF_8);

    Path a = NativeLibrary.extract(new ByteArrayInputStream(v1), win, dir);
    assertTrue(a.getFileName().toString().matches("flyteauth_jni-[0-9a-f]{16}\\.dll"), a.toString());
    Path again = NativeLibrary.extract(new ByteArrayInputStream(v1), win, dir);
    assertEquals(a, again, "the next JVM reuses the copy (it cannot be deleted while loaded)");
    assertEquals(List.of(a), files(dir), "no temporary file left behind");

    Path b = NativeLibrary.extract(new ByteArrayInputStream(v2), win, dir);
    assertNotEquals(a, b, "another build gets another name");
    assertEquals(2, files(dir).size());

    // A damaged copy (say, from a full disk) is replaced, not loaded.
    Files.write(a, "truncated".getBytes(StandardCharsets.UTF_8));
    Path repaired = NativeLibrary.extract(new ByteArrayInputStream(v1), win, dir);
    assertEquals(a, repaired);
    assertTrue(java.util.Arrays.equals(v1, Files.readAllBytes(a)));
    assertEquals(2, files(dir).size());
  }

  private static List<Path> files(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().collect(Collectors.toList());
    }
  }
}
