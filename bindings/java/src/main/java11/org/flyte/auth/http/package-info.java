/**
 * A {@code java.net.http.HttpClient} helper: {@link org.flyte.auth.http.FlyteHttpClient} adds the
 * header metadata to requests and, on 401, invalidates the rejected token and sends the request
 * once more. Needs Java 11; nothing else in flyteauth loads this package.
 */
package org.flyte.auth.http;
