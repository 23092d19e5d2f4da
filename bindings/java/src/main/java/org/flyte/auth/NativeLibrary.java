package org.flyte.auth;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Finds the one native library both back ends use ({@code libflyteauth_jni.so}, {@code
 * libflyteauth_jni.dylib} or {@code flyteauth_jni.dll}: the JNI glue, exporting the whole C ABI):
 *
 * <ol>
 *   <li>the file named by the system property {@code flyteauth.library.path};
 *   <li>{@code System.mapLibraryName("flyteauth_jni")} in a directory of {@code
 *       java.library.path};
 *   <li>the copy packaged in the jar as {@code native/<os>-<arch>[-musl]/<file>}, chosen by {@link
 *       #platform} and extracted to {@code java.io.tmpdir} (see {@link #extract}).
 * </ol>
 *
 * Each back end loads it once, from its static initializer. Everything that decides a name is a
 * pure function of its arguments ({@link #platform}, {@link Platform#resource}, {@link
 * #notFoundMessage}), so the choice for every platform is tested on any one of them.
 */
final class NativeLibrary {
  /** The system property naming the library file to load. */
  static final String PATH_PROPERTY = "flyteauth.library.path";
  /** The library's base name, for {@link System#mapLibraryName}. */
  static final String NAME = "flyteauth_jni";

  /**
   * The directories a release jar can carry, in the order the error message lists them. Only
   * looked up when loading fails, to say what the class path does hold.
   */
  static final List<String> KNOWN_DIRECTORIES =
      Collections.unmodifiableList(
          Arrays.asList(
              "linux-x86_64",
              "linux-aarch64",
              "linux-x86_64-musl",
              "linux-aarch64-musl",
              "osx-x86_64",
              "osx-aarch64",
              "windows-x86_64",
              "windows-aarch64"));

  /** The C library of a Linux process; {@code NONE} elsewhere. */
  enum Libc {
    GLIBC,
    MUSL,
    NONE
  }

  /** Where this JVM runs, normalised to the names of the jar's native directories. */
  static final class Platform {
    /** "linux", "osx", "windows", or os.name lower-cased without punctuation. */
    final String os;
    /** "x86_64", "aarch64", or os.arch lower-cased without punctuation. */
    final String arch;

    final Libc libc;
    /** The raw system properties, for messages. */
    final String osName;

    final String osArch;

    Platform(String os, String arch, Libc libc, String osName, String osArch) {
      this.os = os;
      this.arch = arch;
      this.libc = libc;
      this.osName = osName;
      this.osArch = osArch;
    }

    /** "linux-x86_64", "linux-aarch64-musl", "osx-aarch64", "windows-x86_64", ... */
    String directory() {
      return os + "-" + arch + (libc == Libc.MUSL ? "-musl" : "");
    }

    /** The library's file name on this OS (what System.mapLibraryName gives there). */
    String fileName() {
      return NativeLibrary.fileName(os);
    }

    /** The resource path in the jar, without a leading slash. */
    String resource() {
      return "native/" + directory() + "/" + fileName();
    }

    /** The suffix an extracted copy needs (Windows' loader wants ".dll"). */
    String suffix() {
      String f = fileName();
      return f.substring(f.lastIndexOf('.'));
    }

    /** E.g. {@code os linux, arch x86_64, libc musl (os.name "Linux", os.arch "amd64")}. */
    String describe() {
      return "os "
          + os
          + ", arch "
          + arch
          + (libc == Libc.NONE ? "" : ", libc " + libc.name().toLowerCase(Locale.ROOT))
          + " (os.name \""
          + osName
          + "\", os.arch \""
          + osArch
          + "\")";
    }

    @Override
    public String toString() {
      return directory();
    }
  }

  /** Opens a library file; the back end's way of loading it. */
  interface Opener {
    void open(String absolutePath);
  }

  private NativeLibrary() {}

  /** The library's file name on {@code os} (one of {@link Platform#os}). */
  static String fileName(String os) {
    switch (os) {
      case "windows":
        return NAME + ".dll";
      case "osx":
        return "lib" + NAME + ".dylib";
      default:
        return "lib" + NAME + ".so";
    }
  }

  /**
   * The platform for the given {@code os.name} and {@code os.arch}; {@code musl} matters on Linux
   * only (elsewhere the libc is {@code NONE}). A pure function: the unit test covers every name.
   */
  static Platform platform(String osName, String osArch, boolean musl) {
    String name = osName == null ? "" : osName;
    String archName = osArch == null ? "" : osArch;
    String lower = name.toLowerCase(Locale.ROOT);
    String os;
    if (lower.startsWith("linux")) {
      os = "linux";
    } else if (lower.startsWith("mac") || lower.startsWith("darwin")) {
      os = "osx";
    } else if (lower.startsWith("windows")) {
      os = "windows";
    } else {
      os = sanitize(lower);
    }
    String a = archName.toLowerCase(Locale.ROOT);
    String arch;
    switch (a) {
      case "amd64":
      case "x86_64":
      case "x64":
      case "x86-64":
      case "em64t":
        arch = "x86_64";
        break;
      case "aarch64":
      case "arm64":
        arch = "aarch64";
        break;
      case "x86":
      case "i386":
      case "i486":
      case "i586":
      case "i686":
        arch = "x86";
        break;
      default:
        arch = sanitize(a);
    }
    Libc libc = os.equals("linux") ? (musl ? Libc.MUSL : Libc.GLIBC) : Libc.NONE;
    return new Platform(os, arch, libc, name, archName);
  }

  private static String sanitize(String s) {
    String t = s.replaceAll("[^a-z0-9_]", "");
    return t.isEmpty() ? "unknown" : t;
  }

  /** This JVM's platform (on Linux, the libc is read from the process's own mappings). */
  static Platform current() {
    String osName = System.getProperty("os.name", "");
    boolean linux = osName.toLowerCase(Locale.ROOT).startsWith("linux");
    return platform(osName, System.getProperty("os.arch", ""), linux && isMusl());
  }

  /** The directory under native/ in the jar for this JVM. Kept for callers and tests. */
  static String classifier() {
    return current().directory();
  }

  /**
   * Whether this (Linux) process runs on musl. The answer comes from the libraries the process
   * has mapped ({@code /proc/self/maps}): musl's dynamic loader and libc are one file, {@code
   * /lib/ld-musl-<arch>.so.1}, while a glibc process maps {@code libc.so.6}. That names the C
   * library this JVM actually uses, which a file test cannot: Debian's {@code musl} package puts
   * {@code /lib/ld-musl-x86_64.so.1} on glibc systems, and Alpine's {@code gcompat} installs a
   * glibc-named loader. No process is spawned ({@code ldd --version} would be one per JVM).
   * Only if {@code /proc} cannot be read does the presence of musl's loader decide.
   */
  static boolean isMusl() {
    Boolean fromMaps = null;
    File maps = new File("/proc/self/maps");
    if (maps.canRead()) {
      try (BufferedReader r =
          new BufferedReader(
              new InputStreamReader(new FileInputStream(maps), StandardCharsets.UTF_8))) {
        fromMaps = libcOfMaps(r);
      } catch (IOException | RuntimeException e) {
        fromMaps = null;
      }
    }
    if (fromMaps != null) {
      return fromMaps;
    }
    String[] loaders = new File("/lib").list((dir, n) -> n.startsWith("ld-musl-"));
    return loaders != null && loaders.length > 0;
  }

  /**
   * Reads {@code /proc/<pid>/maps} lines: TRUE when a musl loader/libc is mapped, FALSE when glibc
   * is, null when neither shows (the caller falls back).
   */
  static Boolean libcOfMaps(BufferedReader maps) throws IOException {
    String line;
    while ((line = maps.readLine()) != null) {
      int slash = line.lastIndexOf('/');
      if (slash < 0) {
        continue;
      }
      String file = line.substring(slash + 1);
      if (file.startsWith("ld-musl-") || file.startsWith("libc.musl-")) {
        return Boolean.TRUE;
      }
      if (file.startsWith("libc.so.6") || file.startsWith("libc-2.")) {
        return Boolean.FALSE;
      }
    }
    return null;
  }

  /** Locate the library and let {@code opener} load it; throws UnsatisfiedLinkError. */
  static void load(Opener opener) {
    String explicit = System.getProperty(PATH_PROPERTY);
    if (explicit != null && !explicit.trim().isEmpty()) {
      File f = new File(explicit.trim());
      if (!f.isFile()) {
        throw new UnsatisfiedLinkError(
            "flyteauth: -D" + PATH_PROPERTY + "=" + explicit + " is not a file");
      }
      opener.open(f.getAbsolutePath());
      return;
    }
    String fileName = System.mapLibraryName(NAME);
    String libraryPath = System.getProperty("java.library.path", "");
    for (String dir : libraryPath.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      File f = new File(dir, fileName);
      if (f.isFile()) {
        opener.open(f.getAbsolutePath());
        return;
      }
    }

    Platform platform = current();
    String resource = platform.resource();
    Path extracted;
    try (InputStream in = NativeLibrary.class.getResourceAsStream("/" + resource)) {
      if (in == null) {
        throw new UnsatisfiedLinkError(notFoundMessage(platform, libraryPath, carried()));
      }
      extracted = extract(in, platform, Paths.get(System.getProperty("java.io.tmpdir")));
    } catch (IOException e) {
      UnsatisfiedLinkError err =
          new UnsatisfiedLinkError(
              "flyteauth: cannot extract "
                  + resource
                  + " to java.io.tmpdir ("
                  + e
                  + "); set -D"
                  + PATH_PROPERTY
                  + " to a copy of it");
      err.initCause(e);
      throw err;
    }
    try {
      opener.open(extracted.toAbsolutePath().toString());
    } finally {
      if (!platform.os.equals("windows")) {
        // Once mapped, the file is no longer needed (Linux, macOS): crashed JVMs leave nothing.
        try {
          Files.deleteIfExists(extracted);
        } catch (IOException | RuntimeException e) {
          extracted.toFile().deleteOnExit();
        }
      }
    }
  }

  /**
   * Copies the library out of the jar into {@code dir}. On Linux and macOS: a fresh temporary
   * file, which {@link #load} deletes once it is loaded. On Windows a loaded DLL cannot be deleted
   * (not even on exit: the JVM still holds it), so the copy is named by its content, {@code
   * flyteauth_jni-<sha-256 prefix>.dll}, and kept for the next JVM: one file per library build,
   * never one per run. Two JVMs extracting at once each write a temporary file and move it into
   * place atomically; an existing file is used only if its content hashes to its name, and when it
   * cannot be replaced (another JVM has it loaded) this JVM loads its own temporary copy.
   */
  static Path extract(InputStream in, Platform platform, Path dir) throws IOException {
    String prefix = platform.os.equals("windows") ? NAME + "-" : "lib" + NAME + "-";
    Path tmp = Files.createTempFile(dir, prefix, platform.suffix());
    try {
      byte[] digest;
      try (OutputStream out = Files.newOutputStream(tmp)) {
        digest = copy(in, out);
      }
      if (!platform.os.equals("windows")) {
        return tmp;
      }
      Path named = dir.resolve(NAME + "-" + hex(digest, 16) + platform.suffix());
      if (Files.isRegularFile(named) && Arrays.equals(digest, sha256(named))) {
        Files.deleteIfExists(tmp);
        return named;
      }
      try {
        Files.move(
            tmp, named, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return named;
      } catch (IOException e) {
        return tmp;
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
  }

  private static byte[] copy(InputStream in, OutputStream out) throws IOException {
    MessageDigest md = newSha256();
    byte[] buf = new byte[64 * 1024];
    int n;
    while ((n = in.read(buf)) > 0) {
      md.update(buf, 0, n);
      out.write(buf, 0, n);
    }
    return md.digest();
  }

  private static byte[] sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return copy(
          in,
          new OutputStream() {
            @Override
            public void write(int b) {}

            @Override
            public void write(byte[] b, int off, int len) {}
          });
    }
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
    }
  }

  private static String hex(byte[] b, int chars) {
    StringBuilder s = new StringBuilder(chars);
    for (int i = 0; s.length() < chars && i < b.length; i++) {
      s.append(String.format("%02x", b[i] & 0xff));
    }
    return s.toString();
  }

  /** The native directories the class path holds (looked up only to explain a failure). */
  static List<String> carried() {
    List<String> found = new ArrayList<>();
    for (String d : KNOWN_DIRECTORIES) {
      String os = d.substring(0, d.indexOf('-'));
      if (NativeLibrary.class.getResource("/native/" + d + "/" + fileName(os)) != null) {
        found.add(d);
      }
    }
    return found;
  }

  /**
   * The error when no library is found: what was detected, each place looked at, which native
   * directories the class path does carry, and what to do.
   */
  static String notFoundMessage(Platform platform, String libraryPath, List<String> carried) {
    String file = platform.fileName();
    StringBuilder m = new StringBuilder("flyteauth: no native library for ");
    m.append(platform.directory())
        .append(": detected ")
        .append(platform.describe())
        .append(". Looked for -D")
        .append(PATH_PROPERTY)
        .append(" (unset), ")
        .append(file)
        .append(" in java.library.path (")
        .append(libraryPath.isEmpty() ? "empty" : libraryPath)
        .append("), and native/")
        .append(platform.directory())
        .append('/')
        .append(file)
        .append(" on the class path, whose flyteauth jars carry ");
    if (carried.isEmpty()) {
      m.append("no native library at all");
    } else {
      m.append("native/{").append(String.join(", ", carried)).append('}');
    }
    m.append(". Use the flyteauth jar that includes ")
        .append(platform.directory())
        .append(", or build ")
        .append(file)
        .append(" for it (bindings/java/build-native.sh) and pass -D")
        .append(PATH_PROPERTY)
        .append("=/path/to/")
        .append(file)
        .append('.');
    return m.toString();
  }
}
