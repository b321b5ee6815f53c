package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged GGUF is refused with an error that names the file, or opens if the damage left it
 * valid: never another exception or an out-of-memory error. Seeded mutations of the golden file's
 * header (its counts, lengths, types, dims and offsets set to edge values, bits flipped, the file
 * cut), in the file as it is and grown sparse to the size of a real DBRX part, where a damaged
 * count or length still fits in the file.
 */
class GgufMutationTest {
  /** A Q4_K_M DBRX comes in two parts of about 40 GB. */
  private static final long PART_BYTES = 40L << 30;

  private static final long[] EDGE_VALUES = {
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    9,
    12,
    13,
    31,
    32,
    33,
    255,
    256,
    65_535,
    65_536,
    0x7FFF_FFFFL,
    0x8000_0000L,
    0xFFFF_FFFFL,
    1L << 32,
    1L << 40,
    Long.MAX_VALUE,
    Long.MIN_VALUE,
    -1,
    -2
  };

  @TempDir Path tmp;

  /** One integer of the header: where it is, its width in bytes, and what it is. */
  record Field(int at, int width, String what) {}

  @Test
  void damagedHeadersAreRefusedByName() throws IOException {
    byte[] golden = Files.readAllBytes(GgufCheckpointTest.golden("q4_0"));
    Header header = Header.walk(golden);
    Random random = new Random(20261207);
    Path file = tmp.resolve("model.gguf");
    int refused = 0;
    for (int i = 0; i < 160; i++) {
      boolean partSized = i % 2 == 1;
      byte[] damaged = golden.clone();
      String damage = damage(damaged, header, random);
      if (damage.startsWith("cut")) {
        damaged = Arrays.copyOf(damaged, random.nextInt(header.end));
      }
      Files.write(file, damaged);
      if (partSized && !damage.startsWith("cut")) {
        TestFiles.setLength(file, PART_BYTES);
      }
      String what = damage + (partSized ? " in a file grown to 40 GiB" : "");
      try (Checkpoint opened = Checkpoint.open(file)) {
        // The damage left a valid file (a value nothing reads, a flipped bit in a token's text).
      } catch (CheckpointFormatException e) {
        refused++;
        assertTrue(e.getMessage().contains(file.toString()), what + ": " + e.getMessage());
      } catch (RuntimeException | Error e) {
        fail(what + ": " + e, e);
      }
    }
    assertTrue(refused > 130, refused + " of 160 damaged files refused");
  }

  @Test
  void aStringLengthThatFitsInAPartButNotInAHeaderIsRefused() throws IOException {
    String message = refusalOfAPartWith("general.architecture value length", 1L << 30);
    assertTrue(message.contains("metadata key 'general.architecture'"), message);
    assertTrue(message.contains("1073741824 bytes"), message);
    assertTrue(message.contains("32 MiB this reader takes"), message);
  }

  @Test
  void anArrayCountThatFitsInAPartButNotInAHeaderIsRefused() throws IOException {
    String message = refusalOfAPartWith("tokenizer.ggml.token_type count", 1L << 33);
    assertTrue(
        message.contains("'tokenizer.ggml.token_type': array of 8589934592 elements"), message);
    assertTrue(message.contains("32 MiB this reader takes"), message);
  }

  /** Why the golden file, with one field set to {@code value} and grown to a part's size, fails. */
  private String refusalOfAPartWith(String field, long value) throws IOException {
    byte[] golden = Files.readAllBytes(GgufCheckpointTest.golden("q4_0"));
    put(golden, Header.walk(golden).field(field), value);
    Path file = Files.write(tmp.resolve("model.gguf"), golden);
    TestFiles.setLength(file, PART_BYTES);
    return assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(file).close())
        .getMessage();
  }

  @Test
  void valuesOfEveryFixedWidthTypeReadAsWritten() throws IOException {
    // Each type's little-endian bytes, then the values they must read as, singly and in an array.
    long[] bytesOf = {
      0xFF, 0xFF, 0xFFFF, 0xFFFE, 0xFFFF_FFFFL, 0xFFFF_FFFDL, 0x3FC0_0000, 1, -4, -4
    };
    int[] types = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11};
    int[] widths = {1, 1, 2, 2, 4, 4, 4, 1, 8, 8};
    Object[] values = {255L, -1L, 65_535L, -2L, 4_294_967_295L, -3L, 1.5, true, -4L, -4L};
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    GgufWriter.Encoding.u32(header, GgufWriter.MAGIC);
    GgufWriter.Encoding.u32(header, GgufWriter.VERSION);
    GgufWriter.Encoding.u64(header, 0);
    GgufWriter.Encoding.u64(header, 2L * types.length + 2);
    for (int i = 0; i < types.length; i++) {
      GgufWriter.Encoding.string(header, "one." + types[i]);
      GgufWriter.Encoding.u32(header, types[i]);
      little(header, bytesOf[i], widths[i]);
      GgufWriter.Encoding.string(header, "array." + types[i]);
      GgufWriter.Encoding.u32(header, GgufWriter.ARRAY);
      GgufWriter.Encoding.u32(header, types[i]);
      GgufWriter.Encoding.u64(header, 2);
      little(header, 0, widths[i]);
      little(header, bytesOf[i], widths[i]);
    }
    GgufWriter.Encoding.string(header, "one.12");
    GgufWriter.Encoding.u32(header, 12);
    GgufWriter.Encoding.u64(header, Double.doubleToLongBits(-0.25));
    GgufWriter.Encoding.string(header, "array.12");
    GgufWriter.Encoding.u32(header, GgufWriter.ARRAY);
    GgufWriter.Encoding.u32(header, 12);
    GgufWriter.Encoding.u64(header, 1);
    GgufWriter.Encoding.u64(header, Double.doubleToLongBits(-0.25));
    Path path = Files.write(tmp.resolve("values.gguf"), header.toByteArray());
    try (GgufFile gguf = GgufFile.open(path)) {
      Map<String, Object> metadata = gguf.metadata();
      for (int i = 0; i < types.length; i++) {
        Object zero = values[i] instanceof Double ? 0.0 : values[i] instanceof Boolean ? false : 0L;
        assertEquals(values[i], metadata.get("one." + types[i]), "type " + types[i]);
        assertEquals(
            List.of(zero, values[i]), metadata.get("array." + types[i]), "type " + types[i]);
      }
      assertEquals(-0.25, metadata.get("one.12"));
      assertEquals(List.of(-0.25), metadata.get("array.12"));
    }
  }

  private static void little(ByteArrayOutputStream out, long value, int width) {
    for (int i = 0; i < width; i++) {
      out.write((int) (value >>> (8 * i)) & 0xFF);
    }
  }

  /** Damages {@code file} in one of three ways and says how: a field, flipped bits, or a cut. */
  private static String damage(byte[] file, Header header, Random random) {
    int kind = random.nextInt(10);
    if (kind < 7) {
      Field field = header.fields.get(random.nextInt(header.fields.size()));
      long value =
          random.nextInt(4) == 0
              ? get(file, field) + (random.nextBoolean() ? 1 : -1) * (1 + random.nextInt(40))
              : random.nextInt(3) == 0
                  ? random.nextLong()
                  : EDGE_VALUES[random.nextInt(EDGE_VALUES.length)];
      put(file, field, value);
      return field.what + " set to " + value;
    }
    if (kind < 9) {
      StringBuilder flips = new StringBuilder("bits flipped at");
      for (int i = 1 + random.nextInt(4); i > 0; i--) {
        // Half of them in the first 4 KB, where the counts and the first keys are.
        int at = random.nextBoolean() ? random.nextInt(4096) : random.nextInt(header.end);
        file[at] ^= (byte) (1 << random.nextInt(8));
        flips.append(' ').append(at);
      }
      return flips.toString();
    }
    return "cut inside the header";
  }

  private static long get(byte[] file, Field field) {
    long value = 0;
    for (int i = 0; i < field.width; i++) {
      value |= (file[field.at + i] & 0xFFL) << (8 * i);
    }
    return value;
  }

  private static void put(byte[] file, Field field, long value) {
    for (int i = 0; i < field.width; i++) {
      file[field.at + i] = (byte) (value >>> (8 * i));
    }
  }

  /**
   * The integers of a GGUF header, found by reading it as the format lays it out: of each array,
   * its type, its count and its first three elements.
   */
  static final class Header {
    private static final int[] WIDTHS = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

    final List<Field> fields = new ArrayList<>();
    private final ByteBuffer in;
    int end;

    private Header(byte[] file) {
      in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Header walk(byte[] file) {
      Header h = new Header(file);
      h.read(4, "magic");
      h.read(4, "version");
      long tensors = h.read(8, "tensor count");
      long keys = h.read(8, "metadata count");
      for (long i = 0; i < keys; i++) {
        String key = h.string("key " + i + " length", true);
        h.value(key, (int) h.read(4, key + " type"), true);
      }
      for (long i = 0; i < tensors; i++) {
        String name = h.string("tensor " + i + " name length", true);
        long dims = h.read(4, name + " dims");
        for (int d = 0; d < dims; d++) {
          h.read(8, name + " ne[" + d + "]");
        }
        h.read(4, name + " type");
        h.read(8, name + " offset");
      }
      h.end = h.in.position();
      return h;
    }

    Field field(String what) {
      return fields.stream().filter(f -> f.what.equals(what)).findFirst().orElseThrow();
    }

    private void value(String key, int type, boolean record) {
      if (type == 8) {
        string(key + " value length", record);
      } else if (type == 9) {
        int elementType = (int) read(4, key + " element type", record);
        long count = read(8, key + " count", record);
        for (long i = 0; i < count; i++) {
          value(key, elementType, record && i < 3);
        }
      } else {
        read(WIDTHS[type], key + " value", record);
      }
    }

    private String string(String what, boolean record) {
      byte[] text = new byte[(int) read(8, what, record)];
      in.get(text);
      return new String(text, StandardCharsets.UTF_8);
    }

    private long read(int width, String what) {
      return read(width, what, true);
    }

    private long read(int width, String what, boolean record) {
      if (record) {
        fields.add(new Field(in.position(), width, what));
      }
      long value = 0;
      for (int i = 0; i < width; i++) {
        value |= (in.get() & 0xFFL) << (8 * i);
      }
      return value;
    }
  }
}
