// load_element, the kernels' weight decoding, against the runtime's own (DType.decode): for each
// type named on the command line (rows cols, then name code rowBytes ...), NAME.bin holds the
// stored rows and NAME.f32 what the runtime decodes them to. A NaN matches any NaN.
#include "emulator.h"
#include "kernels.h"

static std::vector<char> slurp(const char* path) {
  std::vector<char> bytes;
  FILE* f = fopen(path, "rb");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
  fclose(f);
  return bytes;
}

int main(int argc, char** argv) {
  int rows = atoi(argv[1]), cols = atoi(argv[2]), failures = 0;
  for (int a = 3; a + 2 < argc; a += 3) {
    const char* name = argv[a];
    int dtype = atoi(argv[a + 1]);
    long rowBytes = atol(argv[a + 2]);
    char path[64];
    snprintf(path, sizeof path, "%s.bin", name);
    std::vector<char> raw = slurp(path);
    snprintf(path, sizeof path, "%s.f32", name);
    std::vector<char> want = slurp(path);
    int differ = 0;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        float got = load_element(dtype, (const u8*) raw.data() + r * rowBytes, c);
        float expected;
        memcpy(&expected, want.data() + 4 * ((long) r * cols + c), 4);
        bool same = memcmp(&got, &expected, 4) == 0 || (std::isnan(got) && std::isnan(expected));
        if (!same && differ++ < 3) printf("%s row %d col %d: %a, not %a\n", name, r, c, got, expected);
      }
    }
    printf("%s: %d of %d elements differ\n", name, differ, rows * cols);
    failures += differ;
  }
  return failures != 0;
}
