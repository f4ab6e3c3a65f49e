package io.crest.iceberg.keyed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LongLongMapTest {

  @Test
  void underRandomPutsRemovesAndClears_itIsAMap() {
    Random random = new Random(7);
    LongLongMap map = new LongLongMap();
    Map<Long, Long> model = new HashMap<>();
    for (int round = 0; round < 200_000; round++) {
      long key = random.nextInt(5_000) - 2_500L; // negative keys too, and collisions
      switch (random.nextInt(10)) {
        case 0, 1, 2 -> assertThat(map.remove(key)).isEqualTo(orNone(model.remove(key)));
        case 3 -> {
          if (random.nextInt(500) == 0) {
            map.clear();
            model.clear();
          }
        }
        default -> {
          long value = random.nextInt(1_000_000);
          assertThat(map.put(key, value)).isEqualTo(orNone(model.put(key, value)));
        }
      }
      assertThat(map.get(key)).isEqualTo(orNone(model.get(key)));
    }
    assertThat(map.size()).isEqualTo(model.size());
    Map<Long, Long> seen = new HashMap<>();
    map.forEach(seen::put);
    assertThat(seen).isEqualTo(model);
    assertThat(map.sortedKeys()).containsExactly(
        model.keySet().stream().mapToLong(Long::longValue).sorted().toArray());
    map.replaceAll((k, v) -> v + 1);
    model.forEach((k, v) -> assertThat(map.get(k)).isEqualTo(v + 1));
  }

  @Test
  void aWideMap_underRandomPutsRemovesAndClears_isAMapOfBothHalves() {
    Random random = new Random(8);
    LongLongMap map = LongLongMap.wide();
    Map<java.util.List<Long>, Long> model = new HashMap<>();
    for (int round = 0; round < 200_000; round++) {
      // few distinct halves, so keys share one half often
      long hi = random.nextInt(40) - 20L;
      long lo = random.nextInt(100) - 50L;
      java.util.List<Long> key = java.util.List.of(hi, lo);
      switch (random.nextInt(10)) {
        case 0, 1, 2 -> assertThat(map.remove(hi, lo)).isEqualTo(orNone(model.remove(key)));
        case 3 -> {
          if (random.nextInt(500) == 0) {
            map.clear();
            model.clear();
          }
        }
        default -> {
          long value = random.nextInt(1_000_000);
          assertThat(map.put(hi, lo, value)).isEqualTo(orNone(model.put(key, value)));
        }
      }
      assertThat(map.get(hi, lo)).isEqualTo(orNone(model.get(key)));
    }
    assertThat(map.size()).isEqualTo(model.size());
    Map<java.util.List<Long>, Long> seen = new HashMap<>();
    map.forEachKey((hi, lo, v) -> seen.put(java.util.List.of(hi, lo), v));
    assertThat(seen).isEqualTo(model);
    LongLongMap copy = map.copy();
    map.clear();
    model.forEach((k, v) -> assertThat(copy.get(k.get(0), k.get(1))).isEqualTo(v));
  }

  @Test
  void growsPastItsFirstCapacity_andShrinksOnClear() {
    LongLongMap map = new LongLongMap();
    for (long k = 0; k < 300_000; k++) {
      map.put(k * 1_000_003L, k);
    }
    for (long k = 0; k < 300_000; k++) {
      assertThat(map.get(k * 1_000_003L)).isEqualTo(k);
    }
    map.clear();
    assertThat(map.isEmpty()).isTrue();
    map.put(5, 6);
    assertThat(map.get(5)).isEqualTo(6);
    assertThat(map.get(1_000_003L)).isEqualTo(LongLongMap.NONE);
  }

  private static long orNone(Long value) {
    return value == null ? LongLongMap.NONE : value;
  }
}
