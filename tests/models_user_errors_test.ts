/**
 * Mistakes a new user makes with the model API (found by issue 9's acceptance audit): each is a
 * TangentError that names the call and the fix, not a TypeError or a Node error from inside.
 */
import assert from "node:assert/strict";
import { DTypeError, generate, loadModel, TangentError } from "../mod.ts";

const FIXTURES = "../shared/fixtures/models";

Deno.test("apply and generate: token ids given as a plain array are a DTypeError naming tensor(ids, int32)", async () => {
  for (const name of ["tiny_gpt2", "tiny_llama"]) {
    const model = await loadModel(`${FIXTURES}/${name}`);
    const ids = [[1, 2, 3]] as unknown as Parameters<typeof model.apply>[1];
    assert.throws(() => model.apply(model.params, ids), (e: Error) => {
      assert.ok(e instanceof DTypeError, `${name}: ${e.name}: ${e.message}`);
      assert.match(e.message, /inputIds must be a tensor, got an array/);
      assert.match(e.message, /tensor\(ids, \{ dtype: "int32" \}\)/);
      return true;
    });
    await assert.rejects(generate(model, model.params, ids, { maxNewTokens: 2 }), (e: Error) => {
      assert.ok(e instanceof TangentError, `${name}: ${e.name}: ${e.message}`);
      assert.match(e.message, /^generate: inputIds must be a tensor, got an array/);
      return true;
    });
  }
});
