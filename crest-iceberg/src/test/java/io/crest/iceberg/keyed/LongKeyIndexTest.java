package io.crest.iceberg.keyed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The key index against a plain map, with and without eviction. */
class LongKeyIndexTest {

  @Test
  void locations_packAndUnpack() {
    long location = LongKeyIndex.location(LongKeyIndex.MAX_FILE_ID, LongKeyIndex.MAX_POSITION);
    assertThat(LongKeyIndex.fileId(location)).isEqualTo(LongKeyIndex.MAX_FILE_ID);
    assertThat(LongKeyIndex.position(location)).isEqualTo(LongKeyIndex.MAX_POSITION);
    assertThat(LongKeyIndex.location(0, 0)).isZero();
    assertThatThrownBy(() -> LongKeyIndex.location(-1, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LongKeyIndex.location(0, LongKeyIndex.MAX_POSITION + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void withoutEviction_itIsAMap_underRandomPutsRemovesAndFileDrops() {
    LongKeyIndex index = LongKeyIndex.withMemory(16L << 20);
    Map<Long, Long> model = new HashMap<>();
    Random random = new Random(13);
    for (int i = 0; i < 300_000; i++) {
      long key = random.nextInt(50_000) - 25_000L; // negatives, zero and -1 included
      int op = random.nextInt(10);
      if (op < 6) {
        long location = LongKeyIndex.location(random.nextInt(40), random.nextInt(1_000_000));
        index.put(key, location);
        model.put(key, location);
      } else if (op < 9) {
        assertThat(index.remove(key)).isEqualTo(model.remove(key) != null);
      } else if (random.nextInt(200) == 0) {
        int file = random.nextInt(40);
        int dropped = index.removeFile(file);
        int expected = 0;
        for (var it = model.entrySet().iterator(); it.hasNext(); ) {
          if (LongKeyIndex.fileId(it.next().getValue()) == file) {
            it.remove();
            expected++;
          }
        }
        assertThat(dropped).isEqualTo(expected);
      }
      if (i % 10_000 == 0) {
        assertSame(index, model, 50_000);
      }
    }
    assertSame(index, model, 50_000);
    assertThat(index.evictions()).isZero();
  }

  @Test
  void whenFull_itEvicts_butNeverGivesAWrongLocation() {
    LongKeyIndex index = LongKeyIndex.withMemory(64 * 1024); // 4,096 slots, 3,072 keys
    assertThat(index.maxKeys()).isEqualTo(3_072);
    Map<Long, Long> truth = new HashMap<>();
    Random random = new Random(7);
    for (int i = 0; i < 200_000; i++) {
      long key = random.nextInt(20_000);
      if (random.nextInt(5) == 0) {
        index.remove(key);
        truth.remove(key);
        continue;
      }
      long location = LongKeyIndex.location(random.nextInt(100), i);
      index.put(key, location);
      truth.put(key, location);
      assertThat(index.size()).isLessThanOrEqualTo(index.maxKeys());
    }
    assertThat(index.evictions()).isPositive();
    int held = 0;
    for (long key = 0; key < 20_000; key++) {
      long found = index.get(key);
      if (found != LongKeyIndex.NONE) {
        held++;
        assertThat(found).as("key %d", key).isEqualTo(truth.get(key));
      }
    }
    assertThat(held).isEqualTo(index.size()).isGreaterThan(index.maxKeys() / 2);
  }

  @Test
  void recentlyReadKeys_surviveEviction_longerThanKeysNeverRead() {
    LongKeyIndex index = LongKeyIndex.withMemory(64 * 1024);
    for (long key = 0; key < 1_000; key++) {
      index.put(key, LongKeyIndex.location(1, key));
    }
    for (long key = 1_000; key < 100_000; key++) {
      for (long hot = 0; hot < 1_000; hot += 97) {
        index.get(hot); // kept warm
      }
      index.put(key, LongKeyIndex.location(2, key));
    }
    for (long hot = 0; hot < 1_000; hot += 97) {
      assertThat(index.get(hot)).as("hot key %d", hot).isEqualTo(LongKeyIndex.location(1, hot));
    }
  }

  @Test
  void memory_staysWithinTheBudget_andTheBytesPerKeyHeld() {
    LongKeyIndex index = LongKeyIndex.withMemory(48L << 20);
    assertThat(index.memoryBytes()).isLessThanOrEqualTo(48L << 20);
    assertThat((double) index.memoryBytes() / index.maxKeys())
        .isLessThanOrEqualTo(LongKeyIndex.BYTES_PER_KEY);
    assertThatThrownBy(() -> LongKeyIndex.withMemory(100))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1 KiB");
  }

  @Test
  void aWideIndex_underPutsRemovesFileDropsAndEviction_neverGivesAWrongLocation() {
    LongKeyIndex index = LongKeyIndex.withMemory(96 * 1024, true); // 4,096 slots, 3,072 keys
    assertThat(index.isWide()).isTrue();
    assertThat(index.maxKeys()).isEqualTo(3_072);
    assertThat((double) index.memoryBytes() / index.maxKeys())
        .isLessThanOrEqualTo(LongKeyIndex.WIDE_BYTES_PER_KEY);
    Map<java.util.List<Long>, Long> truth = new HashMap<>();
    Random random = new Random(21);
    for (int i = 0; i < 200_000; i++) {
      // keys sharing halves: equal lo with another hi is another key
      long hi = random.nextInt(50) - 25L;
      long lo = random.nextInt(200) - 100L;
      java.util.List<Long> key = java.util.List.of(hi, lo);
      int op = random.nextInt(10);
      if (op < 6) {
        long location = LongKeyIndex.location(random.nextInt(40), i);
        index.put(hi, lo, location);
        truth.put(key, location);
      } else if (op < 9) {
        index.remove(hi, lo);
        truth.remove(key);
      } else if (random.nextInt(100) == 0) {
        int file = random.nextInt(40);
        index.removeFile(file);
        truth.values().removeIf(location -> LongKeyIndex.fileId(location) == file);
      }
      assertThat(index.size()).isLessThanOrEqualTo(index.maxKeys());
    }
    assertThat(index.evictions()).isPositive();
    int held = 0;
    for (long hi = -25; hi < 25; hi++) {
      for (long lo = -100; lo < 100; lo++) {
        long found = index.get(hi, lo);
        if (found != LongKeyIndex.NONE) {
          held++;
          assertThat(found).as("key (%d, %d)", hi, lo)
              .isEqualTo(truth.get(java.util.List.of(hi, lo)));
        }
      }
    }
    assertThat(held).isEqualTo(index.size()).isGreaterThan(index.maxKeys() / 2);
  }

  private static void assertSame(LongKeyIndex index, Map<Long, Long> model, int range) {
    assertThat(index.size()).isEqualTo(model.size());
    for (long key = -range; key <= range; key++) {
      Long expected = model.get(key);
      assertThat(index.get(key)).as("key %d", key)
          .isEqualTo(expected == null ? LongKeyIndex.NONE : expected);
    }
  }
}
