// The navigator.gpu handed to tfjs-backend-webgpu, with a hook on every adapter it requests:
// tfjs creates its device itself, so asking for more (a feature, a limit) means wrapping the
// adapter's requestDevice before tfjs calls it (webgpu-f16.ts, webgpu-limits.ts), as
// widenDeviceRequests does.
interface GpuLike {
  requestAdapter(options?: object): Promise<unknown>;
}

/** The same GPU object, except that each adapter it returns first passes through `hook`. */
export function withAdapterHook<G extends GpuLike, A>(gpu: G, hook: (adapter: A) => void): G {
  const requestAdapter = async (options?: object) => {
    const adapter = (await gpu.requestAdapter(options)) as A | null;
    if (adapter) hook(adapter);
    return adapter;
  };
  return new Proxy(gpu, {
    get: (target, key) => {
      if (key === 'requestAdapter') return requestAdapter;
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v; // Dawn's methods need the real object as `this`
    },
  });
}

/**
 * Wraps the adapter's requestDevice so that the descriptor tfjs passes is first widened by `widen`
 * (null: it asks for enough already). A driver that offers more but refuses it gets the device
 * tfjs asked for.
 */
export function widenDeviceRequests<D extends object>(adapter: { requestDevice(d?: D): Promise<unknown> }, widen: (d: D | undefined) => D | null): void {
  const original = adapter.requestDevice;
  adapter.requestDevice = async function (this: unknown, d?: D) {
    const wider = widen(d);
    if (wider === null) return original.call(this, d);
    try {
      return await original.call(this, wider);
    } catch {
      return original.call(this, d);
    }
  };
}
