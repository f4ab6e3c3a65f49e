package io.crest.ingestor;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;

/**
 * Installs an operating-system signal handler through {@code sun.misc.Signal} (module {@code
 * jdk.unsupported}), found by reflection so that nothing depends on it at compile time. Stateless.
 */
final class Signals {
  private Signals() {}

  /**
   * Runs {@code action} on a JVM thread whenever the signal {@code name} (such as {@code TERM})
   * arrives, instead of the JVM's own handling (for TERM and INT: shutting down).
   *
   * @return whether the handler was installed
   */
  static boolean handle(String name, Runnable action) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object signal = signalClass.getConstructor(String.class).newInstance(name);
      InvocationHandler calls = (proxy, method, args) -> {
        switch (method.getName()) {
          case "handle":
            action.run();
            return null;
          case "hashCode":
            return System.identityHashCode(proxy);
          case "equals":
            return proxy == args[0];
          default:
            return "crest ingestor handler of SIG" + name;
        }
      };
      Object handler = Proxy.newProxyInstance(
          Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, calls);
      signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
      return true;
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return false;
    }
  }
}
