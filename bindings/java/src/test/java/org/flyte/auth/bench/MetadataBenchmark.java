package org.flyte.auth.bench;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flyte.auth.Authenticator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link Authenticator#metadata()} on a valid token: the hot path every call to flyteadmin
 * takes. Run by {@code bench.sh}, once per back end (the back end is the JVM's
 * {@code -Dflyteauth.backend}).
 *
 * <p>With {@code FLYTEAUTH_IDP_ENDPOINT} set (scripts/with-idp), the token comes from the local
 * IdP by client credentials (5-minute tokens, so no refresh during a fork); otherwise from an
 * external command ({@code echo}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(2)
public class MetadataBenchmark {
  private Authenticator auth;

  /** Create the authenticator and obtain the first token. */
  @Setup(Level.Trial)
  public void setUp() {
    String endpoint = System.getenv("FLYTEAUTH_IDP_ENDPOINT");
    String config;
    if (endpoint != null && !endpoint.isEmpty()) {
      config =
          "{\"endpoint\":\""
              + endpoint
              + "\",\"insecure\":true,\"authType\":\"ClientSecret\",\"clientId\":\""
              + System.getenv("FLYTEAUTH_IDP_CLIENT_ID")
              + "\",\"clientSecret\":\""
              + System.getenv("FLYTEAUTH_IDP_CLIENT_SECRET")
              + "\"}";
    } else {
      config =
          "{\"authType\":\"ExternalCommand\",\"command\":[\"echo\",\"tok\"],"
              + "\"authorizationHeader\":\"authorization\"}";
    }
    auth = Authenticator.fromJson(config);
    if (auth.metadata().isEmpty()) {
      throw new IllegalStateException("no metadata");
    }
    System.err.println("flyteauth back end: " + Authenticator.backend());
  }

  /** Release it. */
  @TearDown(Level.Trial)
  public void tearDown() {
    auth.close();
  }

  /** One thread. */
  @Benchmark
  public Map<String, String> metadata() {
    return auth.metadata();
  }

  /** Two threads sharing one authenticator (the machine has 2 cores). */
  @Benchmark
  @Threads(2)
  public Map<String, String> metadataTwoThreads() {
    return auth.metadata();
  }
}
