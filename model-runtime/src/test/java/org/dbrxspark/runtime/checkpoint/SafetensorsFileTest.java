package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafetensorsFileTest {
  @TempDir Path dir;

  /** Two tensors filling a 32-byte data section: alpha F32 [2, 3] then beta BF16 [4]. */
  private static final String ALPHA =
      "\"w.alpha\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";

  private static final String BETA =
      "\"w.beta\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]}";

  private Path file() {
    return dir.resolve("model.safetensors");
  }

  /** alpha = 1..6, beta = -1, -2, -3, -4 */
  private static byte[] validData() {
    ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 1; i <= 6; i++) {
      b.putFloat(i);
    }
    for (int i = 1; i <= 4; i++) {
      b.putShort(DType.floatToBf16(-i));
    }
    return b.array();
  }

  private Path writeValid() throws IOException {
    TestFiles.writeRaw(
        file(),
        "{\"__metadata__\":{\"format\":\"pt\"}," + BETA + "," + ALPHA + "}   ",
        validData());
    return file();
  }

  private CheckpointFormatException assertRejected(String... fragments) {
    CheckpointFormatException e =
        assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file()).close());
    assertTrue(
        e.getMessage().contains(file().toString()), "message names the file: " + e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "message contains '" + f + "': " + e.getMessage());
    }
    return e;
  }

  @Test
  void readsAValidFile() throws IOException {
    try (SafetensorsFile f = SafetensorsFile.open(writeValid())) {
      assertEquals(Map.of("format", "pt"), f.metadata());
      assertEquals(List.of("w.alpha", "w.beta"), List.copyOf(f.tensors().keySet())); // data order
      Tensor alpha = f.tensors().get("w.alpha");
      assertEquals(DType.F32, alpha.dtype());
      assertArrayEquals(new long[] {2, 3}, alpha.shape());
      assertEquals(2, alpha.rows());
      assertEquals(3, alpha.cols());
      assertEquals(24, alpha.byteSize());
      assertEquals(file(), alpha.file());
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, alpha.toFloatArray());

      Tensor beta = f.tensors().get("w.beta");
      assertEquals(1, beta.rows()); // 1-D: one row
      assertEquals(4, beta.cols());
      assertArrayEquals(new float[] {-1, -2, -3, -4}, beta.toFloatArray());

      ByteBuffer row = alpha.rowBytes(1, 1);
      assertTrue(row.isReadOnly());
      assertEquals(ByteOrder.LITTLE_ENDIAN, row.order());
      assertEquals(12, row.remaining());
      assertEquals(4f, row.getFloat(0));
      float[] dst = new float[5];
      alpha.readRows(1, 1, dst, 2);
      assertArrayEquals(new float[] {0, 0, 4, 5, 6}, dst);
    }
  }

  @Test
  void rejectsBadRowRangesAndDestinations() throws IOException {
    try (SafetensorsFile f = SafetensorsFile.open(writeValid())) {
      Tensor alpha = f.tensors().get("w.alpha");
      IndexOutOfBoundsException e =
          assertThrows(IndexOutOfBoundsException.class, () -> alpha.rowBytes(1, 2));
      assertTrue(e.getMessage().contains("w.alpha"), e.getMessage());
      assertThrows(IndexOutOfBoundsException.class, () -> alpha.rowBytes(-1, 1));
      assertThrows(IndexOutOfBoundsException.class, () -> alpha.readRows(0, 2, new float[6], 1));
      assertEquals(0, alpha.rowBytes(2, 0).remaining());
    }
  }

  @Test
  void tensorsFailClearlyAfterClose() throws IOException {
    SafetensorsFile f = SafetensorsFile.open(writeValid());
    Tensor alpha = f.tensors().get("w.alpha");
    ByteBuffer mappedBefore = alpha.rowBytes(0, 2);
    f.close();
    IllegalStateException e = assertThrows(IllegalStateException.class, alpha::toFloatArray);
    assertTrue(
        e.getMessage().contains("closed") && e.getMessage().contains("w.alpha"), e.getMessage());
    assertEquals(6f, mappedBefore.getFloat(20)); // mappings outlive the channel
  }

  @Test
  void acceptsAnEmptyFile() throws IOException {
    TestFiles.writeRaw(file(), "{}", new byte[0]);
    try (SafetensorsFile f = SafetensorsFile.open(file())) {
      assertTrue(f.tensors().isEmpty());
    }
  }

  static Stream<Arguments> badHeaders() {
    return Stream.of(
        Arguments.of("{\"w.alpha\": {", 32, List.of("not valid JSON")),
        Arguments.of("[1, 2]", 32, List.of("not a JSON object")),
        Arguments.of("{" + ALPHA + "," + BETA + "} {}", 32, List.of("not valid JSON")),
        Arguments.of(
            "{" + ALPHA + "," + ALPHA + "," + BETA + "}", 32, List.of("w.alpha", "Duplicate")),
        Arguments.of(
            "{" + ALPHA + "," + BETA.replace("[24,32]", "[24,40]") + "}",
            32,
            List.of("w.beta", "data section")),
        Arguments.of(
            "{" + ALPHA + "," + BETA.replace("[24,32]", "[32,24]") + "}",
            32,
            List.of("w.beta", "[32, 24]")),
        Arguments.of(
            "{" + ALPHA + "," + BETA.replace("[24,32]", "[20,28]") + "}",
            32,
            List.of("w.beta", "overlap", "w.alpha")),
        Arguments.of(
            "{" + ALPHA + "," + BETA.replace("[24,32]", "[26,34]") + "}",
            34,
            List.of("w.beta", "contiguous")),
        Arguments.of(
            "{" + BETA.replace("[24,32]", "[0,8]") + "}", 32, List.of("w.beta", "24 bytes follow")),
        Arguments.of(
            "{" + ALPHA.replace("[2,3]", "[2,4]") + "," + BETA + "}",
            32,
            List.of("w.alpha", "needs 32 bytes", "span 24")),
        Arguments.of(
            "{" + ALPHA.replace("[2,3]", "[4294967296,4294967296]") + "," + BETA + "}",
            32,
            List.of("w.alpha", "overflow")),
        Arguments.of(
            "{" + ALPHA.replace("\"F32\"", "\"I8\"") + "," + BETA + "}",
            32,
            List.of("w.alpha", "unsupported dtype 'I8'")),
        Arguments.of(
            "{" + ALPHA.replace("\"F32\"", "5") + "," + BETA + "}",
            32,
            List.of("w.alpha", "dtype must be a string")),
        Arguments.of(
            "{" + ALPHA.replace("[2,3]", "[-2,-3]") + "," + BETA + "}",
            32,
            List.of("w.alpha", "non-negative integers")),
        Arguments.of(
            "{" + ALPHA.replace("[2,3]", "[2.5,3]") + "," + BETA + "}",
            32,
            List.of("w.alpha", "non-negative integers")),
        Arguments.of(
            "{" + ALPHA.replace("\"shape\":[2,3],", "") + "," + BETA + "}",
            32,
            List.of("w.alpha", "shape must be")),
        Arguments.of(
            "{" + ALPHA.replace("[0,24]", "[0,24,24]") + "," + BETA + "}",
            32,
            List.of("w.alpha", "[begin, end]")),
        Arguments.of(
            "{" + ALPHA.replace("}", ",\"extra\":1}") + "," + BETA + "}",
            32,
            List.of("w.alpha", "unexpected key 'extra'")),
        Arguments.of(
            "{\"w.alpha\":[1]," + BETA + "}", 32, List.of("w.alpha", "must be a JSON object")),
        Arguments.of(
            "{\"__metadata__\":{\"format\":1}," + ALPHA + "," + BETA + "}",
            32,
            List.of("__metadata__.format")));
  }

  @ParameterizedTest
  @MethodSource("badHeaders")
  void rejectsBadHeaders(String header, int dataBytes, List<String> fragments) throws IOException {
    TestFiles.writeRaw(file(), header, new byte[dataBytes]);
    assertRejected(fragments.toArray(new String[0]));
  }

  @Test
  void rejectsATruncatedFile() throws IOException {
    Path valid = writeValid();
    TestFiles.setLength(valid, Files.size(valid) - 4);
    assertRejected("w.beta", "truncated");
  }

  @Test
  void rejectsAFileShorterThanTheLengthPrefix() throws IOException {
    Files.write(file(), new byte[] {1, 2, 3});
    assertRejected("too short");
  }

  @Test
  void rejectsAHeaderLengthBeyondTheFile() throws IOException {
    long size = Files.size(writeValid());
    TestFiles.patchHeaderLength(file(), size - 7);
    assertRejected("header length " + (size - 7), "exceeds the file size " + size);
    TestFiles.patchHeaderLength(file(), -1);
    assertRejected("header length 18446744073709551615");
  }

  @Test
  void rejectsAnInsaneHeaderLengthInsideAHugeFile() throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file().toFile(), "rw")) {
      raf.setLength(SafetensorsFile.MAX_HEADER_BYTES + 1000); // sparse: costs no disk
    }
    TestFiles.patchHeaderLength(file(), SafetensorsFile.MAX_HEADER_BYTES + 1);
    assertRejected("sane maximum");
  }

  @Test
  void rejectsAHeaderThatIsNotUtf8() throws IOException {
    byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
    TestFiles.writeRaw(file(), header.length, header, new byte[0]);
    assertRejected("UTF-8");
  }

  /**
   * A sparse file of 4 GiB: tensor "big" (BF16, 2^21 + 1 rows of 1024, so 4 GiB + 2 KiB) followed
   * by "tail" (F32 [4]) whose data lies beyond 2^32. Only the bytes written take disk space. Any
   * int-based offset arithmetic would read the wrong place or fail.
   */
  @Test
  void readsTensorsBeyondFourGibibytes() throws IOException {
    long bigRows = (1L << 21) + 1;
    long bigBytes = bigRows * 1024 * 2;
    String header =
        "{\"big\":{\"dtype\":\"BF16\",\"shape\":["
            + bigRows
            + ",1024],\"data_offsets\":[0,"
            + bigBytes
            + "]},"
            + "\"tail\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":["
            + bigBytes
            + ","
            + (bigBytes + 16)
            + "]}}";
    byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
    long dataStart = 8 + headerBytes.length;
    long lastRow = bigRows - 1;
    long middleRow = 1L << 20; // starts exactly 2^31 bytes into the data
    try (RandomAccessFile raf = new RandomAccessFile(file().toFile(), "rw")) {
      raf.setLength(dataStart + bigBytes + 16);
      ByteBuffer prefix = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
      raf.write(prefix.putLong(headerBytes.length).put(headerBytes).array());
      raf.seek(dataStart + middleRow * 2048);
      raf.write(bf16Row(3));
      raf.seek(dataStart + lastRow * 2048);
      raf.write(bf16Row(7));
      ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
      raf.write(
          tail.putFloat(1.5f).putFloat(-2.5f).putFloat(3.5f).putFloat(Float.MIN_VALUE).array());
    }
    assertTrue(Files.size(file()) > 1L << 32);

    try (SafetensorsFile f = SafetensorsFile.open(file())) {
      Tensor big = f.tensors().get("big");
      assertEquals(bigRows, big.rows());
      assertEquals(bigBytes, big.byteSize());

      ByteBuffer last = big.rowBytes(lastRow, 1);
      assertEquals(2048, last.remaining());
      for (int i = 0; i < 1024; i++) {
        assertEquals(DType.floatToBf16(7 + i / 8f), last.getShort(2 * i));
      }
      float[] rows = new float[3 * 1024];
      big.readRows(middleRow - 1, 3, rows, 0);
      assertEquals(0f, rows[1023]); // unwritten sparse row
      assertEquals(3f, rows[1024]);
      assertEquals(
          DType.bf16ToFloat(DType.floatToBf16(3 + 1023 / 8f)), rows[2047]); // 130.875 rounds to 131
      assertEquals(0f, rows[2048]);

      assertArrayEquals(
          new float[] {1.5f, -2.5f, 3.5f, Float.MIN_VALUE}, f.tensors().get("tail").toFloatArray());

      IllegalStateException tooBig = assertThrows(IllegalStateException.class, big::toFloatArray);
      assertTrue(
          tooBig.getMessage().contains("big") && tooBig.getMessage().contains(file().toString()));
      assertThrows(IllegalArgumentException.class, () -> big.rowBytes(0, 1 << 20)); // exactly 2 GiB
    }
  }

  /** 1024 BF16 values start, start + 1/8, start + 2/8, ... */
  private static byte[] bf16Row(float start) {
    ByteBuffer b = ByteBuffer.allocate(2048).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 1024; i++) {
      b.putShort(DType.floatToBf16(start + i / 8f));
    }
    return b.array();
  }
}
