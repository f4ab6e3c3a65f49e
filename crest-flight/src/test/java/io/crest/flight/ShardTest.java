package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.Pipeline;
import io.crest.testing.MemorySink;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The assignment of endpoints to shards and the builder's shard setting. */
class ShardTest {
  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close();
  }

  private static List<String> keys(int n) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      keys.add("ticket-" + i);
    }
    return keys;
  }

  @Test
  void everyKey_isOwnedByExactlyOneShard_andTheSharesAreEven() {
    for (int count = 1; count <= 8; count++) {
      int[] owned = new int[count];
      for (String key : keys(4_000)) {
        int owners = 0;
        for (int i = 0; i < count; i++) {
          if (new Shard(i, count).owns(key)) {
            owners++;
            owned[i]++;
          }
        }
        assertThat(owners).as("owners of %s among %d", key, count).isEqualTo(1);
      }
      for (int share : owned) {
        // 4,000 keys: a share within 20 % of the mean (binomial, about 6 standard deviations)
        assertThat((double) share).isCloseTo(4_000.0 / count, org.assertj.core.data.Percentage
            .withPercentage(20));
      }
    }
  }

  @Test
  void oneMoreShard_movesAboutItsShare_andOnlyToTheNewShard() {
    for (int count = 1; count <= 7; count++) {
      int moved = 0;
      for (String key : keys(4_000)) {
        int before = Shard.owner(key, count);
        int after = Shard.owner(key, count + 1);
        if (before != after) {
          assertThat(after).isEqualTo(count);
          moved++;
        }
      }
      assertThat((double) moved).isCloseTo(4_000.0 / (count + 1),
          org.assertj.core.data.Percentage.withPercentage(20));
    }
  }

  @Test
  void owner_ofFixedKeys_neverChanges() {
    // Pinned: a change of the hash would move every stream between shards on an upgrade.
    List<Integer> owners = new ArrayList<>();
    for (String key : List.of("a", "b", "c", "d", "e", "f")) {
      owners.add(Shard.owner(key, 4));
    }
    assertThat(owners).containsExactly(1, 2, 0, 0, 2, 2);
  }

  @Test
  void shard_outOfRange_isRejected() {
    FlightSource.Builder b = FlightSource.builder(allocator);
    assertThatThrownBy(() -> b.shard(-1, 2)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot read shard -1 of 2: the count must be at least 1 and the index from"
            + " 0 to count - 1");
    assertThatThrownBy(() -> b.shard(2, 2)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot read shard 2 of 2");
    assertThatThrownBy(() -> b.shard(0, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot read shard 0 of 0");
  }

  @Test
  void shard_setTwice_isRejected() {
    FlightSource.Builder b = FlightSource.builder(allocator).shard(0, 2);
    assertThatThrownBy(() -> b.shard(1, 2)).isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot make the source shard 1 of 2: it is already shard 0 of 2");
  }

  @Test
  void shard_withoutDiscovery_orWithFixedStreams_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).shard(0, 2)
            .endpoint("grpc://127.0.0.1:1", "orders").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightSource as shard 0 of 2: sharding splits the endpoints of"
            + " discoveries, and this source has none");
    assertThatThrownBy(() -> FlightSource.builder(allocator).shard(0, 2)
            .endpoint("grpc://127.0.0.1:1", "orders")
            .discover("eu", "grpc://127.0.0.1:1", FlightDescriptor.path("sales")).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("fixed streams [orders] too, which every shard would read");
  }

  @Test
  void pipelineId_ofAShard_isDerivedFromTheConfiguredId() {
    FlightSource source = FlightSource.builder(allocator)
        .discover("eu", "grpc://127.0.0.1:1", FlightDescriptor.path("sales"))
        .shard(2, 4)
        .build();
    assertThat(source.name()).isEqualTo("flight[eu/* shard 2 of 4]");
    Pipeline p = Pipeline.from(source).id("sales").to(new MemorySink());
    assertThat(p.id()).isEqualTo("sales-shard-2-of-4");
    p.close(); // never started: closes the source

    FlightSource unsharded = FlightSource.builder(allocator)
        .discover("eu", "grpc://127.0.0.1:1", FlightDescriptor.path("sales")).build();
    assertThat(unsharded.pipelineId("sales")).isEqualTo("sales");
    unsharded.close();
  }
}
