package org.flyte.auth;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds {@code libflyteauth_jni.so}, the one native library both back ends use (it holds the
 * JNI glue and exports the whole C ABI):
 *
 * <ol>
 *   <li>the file named by the system property {@code flyteauth.library.path};
 *   <li>{@code System.mapLibraryName("flyteauth_jni")} in a directory of {@code
 *       java.library.path};
 *   <li>the copy packaged in the jar as {@code native/<os>-<arch>/}, extracted to a temporary
 *       file that is deleted again as soon as it is loaded (so crashed JVMs leave none behind).
 * </ol>
 *
 * Each back end loads it once, from its static initializer.
 */
final class NativeLibrary {
  /** The system property naming the library file to load. */
  static final String PATH_PROPERTY = "flyteauth.library.path";
  /** The library's base name, for {@link System#mapLibraryName}. */
  static final String NAME = "flyteauth_jni";

  /** Opens a library file; the back end's way of loading it. */
  interface Opener {
    void open(String absolutePath);
  }

  private NativeLibrary() {}

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
    List<String> tried = new ArrayList<>();
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
    tried.add("java.library.path=" + libraryPath);

    String resource = "/native/" + classifier() + "/" + fileName;
    Path extracted;
    try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
      if (in == null) {
        tried.add("resource " + resource + " (not in the jar: unsupported platform?)");
        throw new UnsatisfiedLinkError(
            "flyteauth: cannot find "
                + fileName
                + "; tried -D"
                + PATH_PROPERTY
                + " (unset), "
                + String.join(", ", tried));
      }
      extracted = Files.createTempFile("libflyteauth_jni-", ".so");
      Files.copy(in, extracted, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      UnsatisfiedLinkError err =
          new UnsatisfiedLinkError(
              "flyteauth: cannot extract "
                  + resource
                  + " to java.io.tmpdir ("
                  + e
                  + "); set -D"
                  + PATH_PROPERTY);
      err.initCause(e);
      throw err;
    }
    try {
      opener.open(extracted.toAbsolutePath().toString());
    } finally {
      // Once mapped, the file is no longer needed (on Linux and macOS).
      try {
        Files.deleteIfExists(extracted);
      } catch (IOException | RuntimeException e) {
        extracted.toFile().deleteOnExit();
      }
    }
  }

  /** "linux-x86_64", "linux-aarch64", "osx-aarch64", ...: the folder under native/ in the jar. */
  static String classifier() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String o;
    if (os.startsWith("linux")) {
      o = "linux";
    } else if (os.startsWith("mac") || os.startsWith("darwin")) {
      o = "osx";
    } else if (os.startsWith("windows")) {
      o = "windows";
    } else {
      o = os.replaceAll("[^a-z0-9]", "");
    }
    String a;
    switch (arch) {
      case "amd64":
      case "x86_64":
      case "x64":
        a = "x86_64";
        break;
      case "aarch64":
      case "arm64":
        a = "aarch64";
        break;
      default:
        a = arch.replaceAll("[^a-z0-9_]", "");
    }
    return o + "-" + a;
  }
}
