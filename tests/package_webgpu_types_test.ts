// The backend's own WebGPU declarations (core/backend/webgpu/gpu_types.ts, which let consumers
// type-check without WebGPU types of their own) must describe the real API: the real types (Deno's
// and @webgpu/types', global in this project's compilerOptions) are assigned to them below, so a
// wrong member fails the type check; where an adapter exists, the real objects are probed too.
import assert from "node:assert/strict";
import type * as local from "../core/backend/webgpu/gpu_types.ts";
import { requestWebGPUDevice } from "../core/backend/webgpu/device.ts";
import { GpuRuntime } from "../core/backend/webgpu/runtime.ts";

/** The members `Local` names that `Real` lacks (`never` when it has them all). */
type Missing<Real, Local> = Exclude<keyof Local, keyof Real | "__brand">;
/** Compiles only when `T` is `never`: a missing member shows up in the error as `T`. */
function hasAll<T extends never>(): T[] {
  return [];
}

/**
 * Compiles only if the real WebGPU types (global in this project's compilerOptions: Deno's,
 * TypeScript's DOM and @webgpu/types) have every member the local declarations name, and their plain
 * values (limits, adapter info, buffers, lost info) are assignable to the local types.
 */
function conform(
  real: {
    limits: GPUSupportedLimits;
    info: GPUAdapterInfo;
    buffer: GPUBuffer;
    lost: GPUDeviceLostInfo;
    pipeline: GPUComputePipeline;
    group: GPUBindGroup;
    layout: GPUBindGroupLayout;
    pipelineLayout: GPUPipelineLayout;
    module: GPUShaderModule;
    commands: GPUCommandBuffer;
  },
): unknown[] {
  const values: [
    local.GPUSupportedLimits,
    local.GPUAdapterInfo,
    local.GPUBuffer,
    local.GPUDeviceLostInfo,
    local.GPUComputePipeline,
    local.GPUBindGroup,
    local.GPUBindGroupLayout,
    local.GPUPipelineLayout,
    local.GPUShaderModule,
    local.GPUCommandBuffer,
  ] = [
    real.limits,
    real.info,
    real.buffer,
    real.lost,
    real.pipeline,
    real.group,
    real.layout,
    real.pipelineLayout,
    real.module,
    real.commands,
  ];
  return [
    ...values,
    hasAll<Missing<GPU, local.GPU>>(),
    hasAll<Missing<GPUAdapter, local.GPUAdapter>>(),
    hasAll<Missing<GPUDevice, local.GPUDevice>>(),
    hasAll<Missing<GPUQueue, local.GPUQueue>>(),
    hasAll<Missing<GPUCommandEncoder, local.GPUCommandEncoder>>(),
    hasAll<Missing<GPUComputePassEncoder, local.GPUComputePassEncoder>>(),
    hasAll<Missing<GPUUncapturedErrorEvent, local.GPUUncapturedErrorEvent>>(),
  ];
}

const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
const adapter = await gpu?.requestAdapter().catch(() => null);

Deno.test("the real WebGPU types are assignable to the backend's declarations", () => {
  assert.equal(typeof conform, "function");
});

Deno.test({
  name: "a real adapter and device have every member the backend's declarations name",
  ignore: !adapter,
  fn: async () => {
    const device = await adapter!.requestDevice();
    try {
      for (const m of ["requestDevice"]) assert.equal(typeof Reflect.get(adapter!, m), "function", `adapter.${m}`);
      assert.equal(typeof adapter!.features.has, "function");
      assert.equal(typeof adapter!.limits.maxStorageBufferBindingSize, "number");
      for (
        const m of [
          "createBuffer",
          "createBindGroupLayout",
          "createPipelineLayout",
          "createShaderModule",
          "createComputePipeline",
          "createBindGroup",
          "createCommandEncoder",
          "addEventListener",
        ]
      ) assert.equal(typeof Reflect.get(device, m), "function", `device.${m}`);
      for (const m of ["submit", "writeBuffer", "onSubmittedWorkDone"]) {
        assert.equal(typeof Reflect.get(device.queue, m), "function", `queue.${m}`);
      }
      const buffer = device.createBuffer({ size: 16, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
      for (const m of ["mapAsync", "getMappedRange", "unmap", "destroy"]) {
        assert.equal(typeof Reflect.get(buffer, m), "function", `buffer.${m}`);
      }
      assert.equal(buffer.size, 16);
      buffer.destroy();
      const encoder = device.createCommandEncoder();
      for (const m of ["beginComputePass", "copyBufferToBuffer", "finish"]) {
        assert.equal(typeof Reflect.get(encoder, m), "function", `encoder.${m}`);
      }
      const pass = encoder.beginComputePass();
      for (const m of ["setPipeline", "setBindGroup", "dispatchWorkgroups", "end"]) {
        assert.equal(typeof Reflect.get(pass, m), "function", `pass.${m}`);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    } finally {
      device.destroy();
    }
  },
});

Deno.test({
  name: "upload copies a view of shared memory out before writeBuffer (which takes ArrayBuffer bytes)",
  ignore: !adapter,
  fn: async () => {
    const runtime = new GpuRuntime((await requestWebGPUDevice()).device);
    const shared = new Float32Array(new SharedArrayBuffer(32), 4, 3);
    shared.set([1.5, -2, 3]);
    const plain = new Float32Array(new ArrayBuffer(40), 8, 5);
    plain.set([6, 7, 8, 9, 10]);
    for (const data of [shared, plain]) {
      const buf = runtime.alloc(data.byteLength, true);
      runtime.upload(buf, data);
      assert.deepEqual([...new Float32Array(await runtime.read(buf, data.byteLength))], [...data]);
      runtime.free(buf);
    }
  },
});
