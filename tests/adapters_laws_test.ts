import "../mod.ts";
import { checkAdapterLaws } from "../testing.ts";
import { dora, hra, loha, lokr, lora, vera } from "../adapters/mod.ts";

Deno.test("adapter laws: lora (kaiming, gaussian, rslora)", async () => {
  await checkAdapterLaws(lora({ r: 2, alpha: 4 }));
  await checkAdapterLaws(lora({ r: 3, alpha: 2, rslora: true, init: "gaussian" }), { bias: false });
});

Deno.test("adapter laws: dora (A, B gradients detached as in PEFT)", async () => {
  await checkAdapterLaws(dora({ r: 2, alpha: 3 }), { detachedGradients: ["A", "B"] });
});

Deno.test("adapter laws: hra (even r, odd r, Gram–Schmidt)", async () => {
  await checkAdapterLaws(hra({ r: 4, lambda: 0.1 }));
  await checkAdapterLaws(hra({ r: 3 }));
  await checkAdapterLaws(hra({ r: 2, gramSchmidt: true }));
});

Deno.test("adapter laws: loha (factored and dense forward), lokr, vera", async () => {
  await checkAdapterLaws(loha({ r: 2, alpha: 4 }));
  await checkAdapterLaws(loha({ r: 3 }), { out: 4, in: 4 });
  await checkAdapterLaws(lokr({ r: 2, alpha: 4 }));
  await checkAdapterLaws(lokr({ r: 1, decomposeBoth: true }), { out: 8, in: 12 });
  await checkAdapterLaws(vera({ r: 3 }));
});
