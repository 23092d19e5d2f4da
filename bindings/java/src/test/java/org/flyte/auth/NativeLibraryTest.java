package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the native library is looked for, in order (the loading itself is left to a recorder). */
class NativeLibraryTest {
  private String savedPath;
  private String savedLibraryPath;
  private final List<String> opened = new ArrayList<>();
  private final List<Boolean> existedWhenOpened = new ArrayList<>();

  @BeforeEach
  void save() {
    savedPath = System.getProperty(NativeLibrary.PATH_PROPERTY);
    savedLibraryPath = System.getProperty("java.library.path");
  }

  @AfterEach
  void restore() {
    set(NativeLibrary.PATH_PROPERTY, savedPath);
    set("java.library.path", savedLibraryPath);
  }

  private static void set(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  private void record(String path) {
    opened.add(path);
    existedWhenOpened.add(new File(path).isFile());
  }

  @Test
  void theSystemPropertyComesFirst(@TempDir Path dir) throws Exception {
    Path lib = Files.createFile(dir.resolve("custom.so"));
    Path other = Files.createDirectories(dir.resolve("libdir"));
    Files.createFile(other.resolve(System.mapLibraryName(NativeLibrary.NAME)));
    System.setProperty(NativeLibrary.PATH_PROPERTY, lib.toString());
    System.setProperty("java.library.path", other.toString());
    NativeLibrary.load(this::record);
    assertEquals(List.of(lib.toAbsolutePath().toString()), opened);
  }

  @Test
  void aWrongSystemPropertyIsAnError(@TempDir Path dir) {
    System.setProperty(NativeLibrary.PATH_PROPERTY, dir.resolve("missing.so").toString());
    UnsatisfiedLinkError e =
        assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.load(this::record));
    assertTrue(e.getMessage().contains("missing.so"), e.getMessage());
    assertTrue(opened.isEmpty());
  }

  @Test
  void thenJavaLibraryPath(@TempDir Path dir) throws Exception {
    System.clearProperty(NativeLibrary.PATH_PROPERTY);
    Path lib = Files.createFile(dir.resolve(System.mapLibraryName(NativeLibrary.NAME)));
    System.setProperty("java.library.path", "/nonexistent" + File.pathSeparator + dir);
    NativeLibrary.load(this::record);
    assertEquals(List.of(lib.toAbsolutePath().toString()), opened);
  }

  @Test
  void thenTheCopyInTheJarExtractedAndRemovedOnceLoaded() {
    System.clearProperty(NativeLibrary.PATH_PROPERTY);
    System.setProperty("java.library.path", "/nonexistent");
    NativeLibrary.load(this::record);
    assertEquals(1, opened.size());
    assertTrue(existedWhenOpened.get(0), "extracted before loading");
    assertTrue(opened.get(0).startsWith(System.getProperty("java.io.tmpdir")), opened.get(0));
    assertFalse(new File(opened.get(0)).exists(), "deleted after loading");
  }
}
