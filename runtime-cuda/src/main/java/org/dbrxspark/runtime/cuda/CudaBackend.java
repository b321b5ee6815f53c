package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.cuMemcpyDtoH;
import static org.bytedeco.cuda.global.cudart.cuMemcpyHtoD;
import static org.bytedeco.cuda.global.cudart.cuMemsetD8Async;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.dbrxspark.runtime.backend.Activations;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvBatch;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.backend.Product;
import org.dbrxspark.runtime.backend.Routing;
import org.dbrxspark.runtime.backend.Weights;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.checkpoint.Tensor;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The CUDA backend: weights uploaded once in their stored type, activations and the paged KV cache
 * in GPU memory, every operation a kernel of the CUDA C sources beside this class, compiled by
 * NVRTC for the device's own architecture when the backend opens. Values come back to the host only
 * in {@link #download} (and the router's choices in {@link #route}, which the forward pass groups
 * tokens by).
 *
 * <p>Batch invariance: every kernel reduces in an order fixed by the shapes of one row, never by
 * the number of rows in the call (the matrix products are written here rather than taken from
 * cuBLAS, whose reduction splits change with the batch). A cuBLAS path, faster and not batch
 * invariant, would come behind a {@code deterministic=false} option; it does not exist yet.
 */
public final class CudaBackend implements Backend {
  private final int ordinal;
  private final CudaContext context;
  private final CudaMemory memory;
  private final CudaKernels kernels;
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Launch geometry, as the sources define it. */
  private final int linearWarps;

  private final int linearTokens;
  private final int normThreads;
  private final int attendThreads;
  private final int attendMaxHeadDim;
  private final int routeMaxExperts;

  /**
   * The device tables of a forward step's KV batch, built by its first KV operation and reused by
   * every layer's; dropped with the batch.
   */
  private final Map<KvBatch, KvTables> kvTables = Collections.synchronizedMap(new WeakHashMap<>());

  /** Opens device {@code cuda:ordinal}: retains its context and compiles the kernels for it. */
  public CudaBackend(int ordinal) {
    this.ordinal = ordinal;
    this.context = CudaContext.retain(ordinal);
    try {
      context.makeCurrent();
      this.memory = new CudaMemory(context);
      this.kernels = new CudaKernels(CudaSources.load(), CudaLibraries.capability(ordinal));
    } catch (RuntimeException e) {
      context.close();
      throw e;
    }
    this.linearWarps = kernels.constant("LINEAR_WARPS");
    this.linearTokens = kernels.constant("LINEAR_TOKENS");
    this.normThreads = kernels.constant("NORM_THREADS");
    this.attendThreads = kernels.constant("ATTEND_THREADS");
    this.attendMaxHeadDim = kernels.constant("ATTEND_MAX_HEAD_DIM");
    this.routeMaxExperts = kernels.constant("ROUTE_MAX_EXPERTS");
  }

  @Override
  public String device() {
    return "cuda:" + ordinal;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        memory.close();
        kernels.close();
      } finally {
        context.close();
      }
    }
  }

  // ---- memory

  /** Activations: {@code rows x cols} floats, row-major, in GPU memory. */
  private record Floats(CudaMemory.Buffer buffer, int rows, int cols)
      implements Activations, DevicePointer {
    @Override
    public long address() {
      return buffer.address();
    }
  }

  /** Weights in their stored type, {@code rowBytes} a row, in GPU memory. */
  private record Matrix(CudaMemory.Buffer buffer, int rows, int cols, DType dtype, long rowBytes)
      implements Weights, DevicePointer {
    @Override
    public long byteSize() {
      return rows * rowBytes;
    }

    @Override
    public long address() {
      return buffer.address();
    }
  }

  private static Floats floats(Activations a) {
    if (a instanceof Floats f) {
      return f;
    }
    throw new IllegalArgumentException("activations of another backend: " + a);
  }

  private static Matrix matrix(Weights w) {
    if (w instanceof Matrix m) {
      return m;
    }
    throw new IllegalArgumentException("weights of another backend: " + w);
  }

  @Override
  public Weights weights(Tensor tensor, long firstRow, int rows) {
    memory.enter();
    long rowBytes = tensor.dtype().bytesFor(tensor.cols());
    CudaMemory.Buffer buffer = memory.lasting(rows * rowBytes);
    // In slices of at most 1 GiB: a mapped buffer spans under 2 GiB, and a whole expert tensor
    // may not.
    int sliceRows = (int) Math.max(1, Math.min(rows, (1L << 30) / rowBytes));
    for (int r = 0; r < rows; r += sliceRows) {
      int count = Math.min(sliceRows, rows - r);
      copyToDevice(buffer.address() + r * rowBytes, tensor.rowBytes(firstRow + r, count));
    }
    return new Matrix(buffer, rows, tensor.cols(), tensor.dtype(), rowBytes);
  }

  private static void copyToDevice(long dst, ByteBuffer src) {
    int bytes = src.remaining();
    ByteBuffer direct = src;
    if (!src.isDirect()) {
      direct = ByteBuffer.allocateDirect(bytes).put(src.duplicate()).flip();
    }
    try (BytePointer host = new BytePointer(direct)) {
      CudaException.check(cuMemcpyHtoD(dst, host, bytes), "cuMemcpyHtoD(" + bytes + " bytes)");
    }
  }

  @Override
  public Activations allocate(int rows, int cols) {
    memory.enter();
    long bytes = 4L * Math.multiplyExact(rows, cols);
    CudaMemory.Buffer buffer = memory.temporary(bytes);
    if (bytes > 0) {
      CudaException.check(
          cuMemsetD8Async(buffer.address(), (byte) 0, bytes, (CUstream_st) null),
          "cuMemsetD8Async(" + bytes + " bytes)");
    }
    return new Floats(buffer, rows, cols);
  }

  @Override
  public Activations upload(float[] values, int rows, int cols) {
    if (values.length != (long) rows * cols) {
      throw new IllegalArgumentException(
          values.length + " values are not [" + rows + ", " + cols + "]");
    }
    memory.enter();
    CudaMemory.Buffer buffer = memory.temporary(4L * values.length);
    try (FloatPointer host = new FloatPointer(values)) {
      toDevice(buffer, host);
    }
    return new Floats(buffer, rows, cols);
  }

  @Override
  public void download(Activations a, float[] dst) {
    Floats f = floats(a);
    int count = Math.multiplyExact(f.rows(), f.cols());
    if (dst.length < count) {
      throw new IllegalArgumentException(
          "[" + f.rows() + ", " + f.cols() + "] activations do not fit " + dst.length + " floats");
    }
    if (count == 0) {
      return;
    }
    memory.enter();
    try (FloatPointer host = new FloatPointer(count)) {
      CudaException.check(
          cuMemcpyDtoH(host, f.address(), 4L * count), "cuMemcpyDtoH(" + 4L * count + " bytes)");
      host.get(dst, 0, count);
    } finally {
      Reference.reachabilityFence(f); // not freed while the copy reads it
    }
  }

  /** {@code host}'s whole extent into {@code dst}, which is as large. */
  private static void toDevice(CudaMemory.Buffer dst, Pointer host) {
    if (dst.bytes() > 0) {
      CudaException.check(
          cuMemcpyHtoD(dst.address(), host, dst.bytes()),
          "cuMemcpyHtoD(" + dst.bytes() + " bytes)");
    }
  }

  /** {@code values} in GPU memory, for a kernel's index or scale parameter. */
  private CudaMemory.Buffer deviceInts(int[] values) {
    CudaMemory.Buffer buffer = memory.temporary(4L * values.length);
    try (IntPointer host = new IntPointer(values)) {
      toDevice(buffer, host);
    }
    return buffer;
  }

  private CudaMemory.Buffer deviceFloats(float[] values) {
    CudaMemory.Buffer buffer = memory.temporary(4L * values.length);
    try (FloatPointer host = new FloatPointer(values)) {
      toDevice(buffer, host);
    }
    return buffer;
  }

  @Override
  public KvStorage kvStorage(DbrxConfig config, KvDType dtype) {
    return new CudaKvStorage(memory, config, dtype);
  }

  // ---- operations

  @Override
  public void embed(Weights table, int[] tokens, Activations out) {
    Matrix w = matrix(table);
    for (int token : tokens) {
      if (token < 0 || token >= w.rows()) {
        throw new IndexOutOfBoundsException("row " + token + " of a " + w.rows() + "-row matrix");
      }
    }
    if (tokens.length == 0) {
      return;
    }
    memory.enter();
    kernels.launch(
        "embed",
        tokens.length,
        1,
        256,
        w,
        w.rowBytes(),
        typeCode(w.dtype()),
        w.cols(),
        deviceInts(tokens),
        floats(out));
  }

  @Override
  public void layerNorm(Activations x, Weights gamma, Activations out) {
    Floats in = floats(x);
    if (in.rows() == 0) {
      return;
    }
    memory.enter();
    kernels.launch(
        "layer_norm",
        in.rows(),
        1,
        normThreads,
        in,
        in.cols(),
        matrix(gamma),
        typeCode(gamma.dtype()),
        (double) DbrxConfig.LAYER_NORM_EPS,
        floats(out));
  }

  @Override
  public void linear(List<Product> products) {
    memory.enter();
    for (Product p : products) {
      Floats x = floats(p.x());
      Matrix w = matrix(p.w());
      requireShape(p, x.cols() == w.cols() && p.out().cols() == w.rows());
      if (x.rows() == 0) {
        continue;
      }
      kernels.launch(
          "linear",
          ceilDiv(w.rows(), linearWarps),
          tokenBlocks(x.rows()),
          32 * linearWarps,
          x,
          x.rows(),
          w.cols(),
          w,
          w.rowBytes(),
          w.rows(),
          typeCode(w.dtype()),
          floats(p.out()));
    }
  }

  @Override
  public void inputMajor(List<Product> products) {
    memory.enter();
    for (Product p : products) {
      Floats x = floats(p.x());
      Matrix w = matrix(p.w());
      requireShape(p, x.cols() == w.rows() && p.out().cols() == w.cols());
      if (x.rows() == 0) {
        continue;
      }
      kernels.launch(
          "input_major",
          ceilDiv(w.cols(), 128),
          tokenBlocks(x.rows()),
          128,
          x,
          x.rows(),
          w.rows(),
          w.cols(),
          w,
          w.rowBytes(),
          typeCode(w.dtype()),
          floats(p.out()));
    }
  }

  private static void requireShape(Product p, boolean fits) {
    if (!fits || p.x().rows() != p.out().rows()) {
      throw new IllegalArgumentException(
          "product shapes do not fit: x ["
              + p.x().rows()
              + ", "
              + p.x().cols()
              + "], w ["
              + p.w().rows()
              + ", "
              + p.w().cols()
              + "] "
              + p.w().dtype()
              + ", out ["
              + p.out().rows()
              + ", "
              + p.out().cols()
              + "]");
    }
  }

  /** Grid rows for {@code n} tokens, LINEAR_TOKENS a block; CUDA allows 65535. */
  private int tokenBlocks(int n) {
    int blocks = ceilDiv(n, linearTokens);
    if (blocks > 65535) {
      throw new IllegalArgumentException(
          n + " rows in one product exceed " + 65535L * linearTokens + "; split the batch");
    }
    return blocks;
  }

  @Override
  public void clamp(Activations x, float bound) {
    Floats v = floats(x);
    long count = (long) v.rows() * v.cols();
    if (count == 0) {
      return;
    }
    memory.enter();
    kernels.launch("clamp_values", strideBlocks(count), 1, 256, v, count, bound);
  }

  @Override
  public Activations rotation(int[] positions, int headDim, double theta) {
    Activations table = allocate(positions.length, headDim);
    if (positions.length > 0) {
      kernels.launch(
          "rotation", positions.length, 1, 128, deviceInts(positions), headDim, theta, table);
    }
    return table;
  }

  @Override
  public void rope(Activations x, Activations rotation, int heads) {
    Floats v = floats(x);
    Floats table = floats(rotation);
    if (table.rows() != v.rows() || (long) heads * table.cols() > v.cols()) {
      throw new IllegalArgumentException(
          heads
              + " heads of a ["
              + table.rows()
              + ", "
              + table.cols()
              + "] rotation do not fit ["
              + v.rows()
              + ", "
              + v.cols()
              + "] activations");
    }
    if (v.rows() == 0) {
      return;
    }
    memory.enter();
    kernels.launch("rope", v.rows(), 1, 128, v, v.cols(), table, table.cols(), heads);
  }

  @Override
  public void storeKv(int layer, Activations qkv, int keyCol, int valueCol, KvBatch batch) {
    if (batch.tokens() == 0) {
      return;
    }
    memory.enter();
    KvTables tables = kvTables(batch);
    Floats rows = floats(qkv);
    kernels.launch(
        "store_kv",
        batch.tokens(),
        1,
        128,
        rows,
        rows.cols(),
        keyCol,
        valueCol,
        layer,
        tables.layout().kvHeads(),
        tables.layout().headDim(),
        kvTypeCode(tables.layout().dtype()),
        tables.addresses(),
        tables.starts(),
        tables.positions());
  }

  @Override
  public void attend(int layer, Activations qkv, int heads, KvBatch batch, Activations out) {
    if (batch.tokens() == 0) {
      return;
    }
    memory.enter();
    KvTables tables = kvTables(batch);
    Floats q = floats(qkv);
    Floats o = floats(out);
    int headDim = o.cols() / heads;
    int kvHeads = tables.layout().kvHeads();
    if (headDim != tables.layout().headDim()
        || headDim > attendMaxHeadDim
        || heads % kvHeads != 0) {
      throw new IllegalArgumentException(
          heads
              + " query heads of "
              + headDim
              + " over "
              + kvHeads
              + " KV heads of "
              + tables.layout().headDim()
              + ": heads must group evenly, and a head have at most "
              + attendMaxHeadDim
              + " dimensions");
    }
    kernels.launch(
        "attend",
        batch.tokens(),
        heads,
        attendThreads,
        q,
        q.cols(),
        heads,
        kvHeads,
        headDim,
        layer,
        kvTypeCode(tables.layout().dtype()),
        tables.addresses(),
        tables.starts(),
        tables.positions(),
        (float) (1.0 / Math.sqrt(headDim)),
        o,
        o.cols());
  }

  /**
   * A batch's KV blocks as the kernels read them: the device address of every block its tokens
   * reach, each sequence's once ({@code addresses}), where token t's sequence starts in it ({@code
   * starts}) and its position.
   */
  private record KvTables(
      CudaKvStorage layout,
      CudaMemory.Buffer addresses,
      CudaMemory.Buffer starts,
      CudaMemory.Buffer positions) {}

  private KvTables kvTables(KvBatch batch) {
    return kvTables.computeIfAbsent(batch, this::buildKvTables);
  }

  private KvTables buildKvTables(KvBatch batch) {
    int n = batch.tokens();
    CudaKvStorage layout = kvStorage(batch, 0);
    // Tokens of one sequence share its block table: place each table once, as long as its
    // furthest token needs.
    Map<int[], Integer> blocksNeeded = new IdentityHashMap<>();
    Map<int[], CudaKvStorage> storageOf = new IdentityHashMap<>();
    for (int t = 0; t < n; t++) {
      CudaKvStorage storage = kvStorage(batch, t);
      int[] table = batch.blockTables()[t];
      int needed = batch.positions()[t] / KvStorage.BLOCK_TOKENS + 1;
      if (!storage.sameLayout(layout) || storageOf.getOrDefault(table, storage) != storage) {
        throw new IllegalArgumentException(
            "token " + t + ": its KV storage differs in layout from token 0's, or its table's");
      }
      if (batch.positions()[t] < 0 || needed > table.length) {
        throw new IllegalArgumentException(
            "token "
                + t
                + " at position "
                + batch.positions()[t]
                + " has no block in its table of "
                + table.length);
      }
      storageOf.put(table, storage);
      blocksNeeded.merge(table, needed, Math::max);
    }
    long[] addresses = new long[blocksNeeded.values().stream().mapToInt(Integer::intValue).sum()];
    int[] starts = new int[n];
    Map<int[], Integer> startOf = new IdentityHashMap<>();
    int size = 0;
    for (int t = 0; t < n; t++) {
      int[] table = batch.blockTables()[t];
      Integer start = startOf.get(table);
      if (start == null) {
        start = size;
        startOf.put(table, start);
        CudaKvStorage storage = storageOf.get(table);
        for (int b = 0; b < blocksNeeded.get(table); b++) {
          addresses[size++] = storage.address(table[b]);
        }
      }
      starts[t] = start;
    }
    CudaMemory.Buffer deviceAddresses = memory.temporary(8L * addresses.length);
    try (LongPointer host = new LongPointer(addresses)) {
      toDevice(deviceAddresses, host);
    }
    return new KvTables(layout, deviceAddresses, deviceInts(starts), deviceInts(batch.positions()));
  }

  private static CudaKvStorage kvStorage(KvBatch batch, int t) {
    if (batch.storages()[t] instanceof CudaKvStorage storage) {
      return storage;
    }
    throw new IllegalArgumentException("token " + t + ": KV storage of another backend");
  }

  @Override
  public Routing route(Activations logits, int k, Double pNorm) {
    Floats in = floats(logits);
    int tokens = in.rows();
    int experts = in.cols();
    if (experts > routeMaxExperts || k < 1 || k > experts) {
      throw new IllegalArgumentException(
          "top-" + k + " of " + experts + " experts (at most " + routeMaxExperts + " experts)");
    }
    int[] chosen = new int[tokens * k];
    float[] weights = new float[tokens * k];
    if (tokens > 0) {
      memory.enter();
      CudaMemory.Buffer deviceChosen = memory.temporary(4L * chosen.length);
      CudaMemory.Buffer deviceWeights = memory.temporary(4L * weights.length);
      kernels.launch(
          "route",
          ceilDiv(tokens, 64),
          1,
          64,
          in,
          tokens,
          experts,
          k,
          pNorm == null ? 0 : 1,
          pNorm == null ? 0.0 : pNorm,
          deviceChosen,
          deviceWeights);
      try (IntPointer hostChosen = new IntPointer(chosen.length);
          FloatPointer hostWeights = new FloatPointer(weights.length)) {
        CudaException.check(
            cuMemcpyDtoH(hostChosen, deviceChosen.address(), deviceChosen.bytes()),
            "cuMemcpyDtoH(routed experts)");
        CudaException.check(
            cuMemcpyDtoH(hostWeights, deviceWeights.address(), deviceWeights.bytes()),
            "cuMemcpyDtoH(routing weights)");
        hostChosen.get(chosen);
        hostWeights.get(weights);
      } finally {
        Reference.reachabilityFence(deviceChosen);
        Reference.reachabilityFence(deviceWeights);
      }
    }
    return new Routing(k, chosen, weights);
  }

  @Override
  public void gatherRows(Activations src, int[] rows, Activations dst) {
    Floats from = floats(src);
    checkRows(rows, from.rows());
    if (rows.length == 0) {
      return;
    }
    memory.enter();
    kernels.launch(
        "gather_rows", rows.length, 1, 256, from, from.cols(), deviceInts(rows), floats(dst));
  }

  @Override
  public void glu(DbrxConfig.Activation activation, Activations gate, Activations up) {
    Floats g = floats(gate);
    long count = (long) g.rows() * g.cols();
    if (count == 0) {
      return;
    }
    memory.enter();
    kernels.launch(
        "glu", strideBlocks(count), 1, 256, g, floats(up), count, activationCode(activation));
  }

  @Override
  public void addScaledRows(Activations src, int[] rows, float[] scales, Activations dst) {
    Floats from = floats(src);
    Floats to = floats(dst);
    checkRows(rows, to.rows());
    if (rows.length == 0) {
      return;
    }
    memory.enter();
    kernels.launch(
        "add_scaled_rows",
        ceilDiv(from.cols(), 128),
        1,
        128,
        from,
        from.cols(),
        deviceInts(rows),
        deviceFloats(scales),
        rows.length,
        to);
  }

  @Override
  public void add(Activations x, Activations y) {
    Floats a = floats(x);
    long count = (long) a.rows() * a.cols();
    if (count == 0) {
      return;
    }
    memory.enter();
    kernels.launch("add_values", strideBlocks(count), 1, 256, a, floats(y), count);
  }

  /** Rows named by index: a kernel would read or write past the buffer, so refuse them here. */
  private static void checkRows(int[] rows, int bound) {
    for (int row : rows) {
      if (row < 0 || row >= bound) {
        throw new IndexOutOfBoundsException("row " + row + " of " + bound);
      }
    }
  }

  private static int ceilDiv(long a, int b) {
    return Math.toIntExact((a + b - 1) / b);
  }

  /** Blocks of 256 for a grid-stride loop over {@code count} elements. */
  private static int strideBlocks(long count) {
    return (int) Math.min((count + 255) / 256, 65536);
  }

  // ---- the codes the kernels take (the enums of common.cuh and elementwise.cu)

  static int typeCode(DType dtype) {
    return switch (dtype) {
      case F32 -> 0;
      case F16 -> 1;
      case BF16 -> 2;
      case Q8_0 -> 3;
      case Q4_0 -> 4;
      case Q4_K -> 5;
      case Q5_K -> 6;
      case Q6_K -> 7;
    };
  }

  static int kvTypeCode(KvDType dtype) {
    return switch (dtype) {
      case F32 -> 0;
      case F16 -> 1;
      case BF16 -> 2;
    };
  }

  static int activationCode(DbrxConfig.Activation activation) {
    return switch (activation) {
      case SILU -> 0;
      case GELU -> 1;
      case GELU_TANH -> 2;
      case RELU -> 3;
    };
  }
}
