/**
 * The curvature engine's public face: computeCurvature, its results keyed by weight name, the
 * gradient and Hessian-vector products, and the types. Every method reads curvature from here.
 *
 * Gradients and curvature of the loss over a data set, per parameter group θ^(l).
 *
 * One pass over the data (batches of 128-256) gives, per parameter tensor, the mean loss gradient
 * g, the diagonal Fisher (empirical: true labels; "sampled": labels drawn from the model's own
 * softmax, an unbiased estimate of the true Fisher), and per Dense/Conv layer the K-FAC factors
 * A = E[ã ãᵀ] (ã = layer input with a 1 appended for the bias) and G = E[δ δᵀ].
 *
 * Per-example gradients without vmap: every Dense/Conv/BatchNorm layer is run with a zero "probe"
 * added to its pre-activation output z, and `tf.grads` of the *summed* loss w.r.t. the probes gives
 * δ_i = ∂ℓ_i/∂z_i for every example at once (in inference mode ℓ_i depends only on row i). With the
 * layer input a_i kept from the same forward pass, the per-example parameter gradients are exact:
 *   Dense   ∇W ℓ_i = a_i δ_iᵀ          Σ_i (∇W ℓ_i)² = (a²)ᵀ(δ²)       bias: Σ_i δ_i²
 *   Conv    ∇W ℓ_i = U_iᵀ δ_i          (U_i = the input unfolded into patches [P, kh·kw·cin]),
 *           squared and summed over i;  bias: Σ_i (Σ_p δ_ip)²
 *   BatchNorm (inference: y = γ x̂ + β with the moving statistics)
 *           ∇γ ℓ_i = Σ_p δ_ip x̂_ip     ∇β ℓ_i = Σ_p δ_ip
 * Exact: g, the empirical diagonal Fisher, the sampled-label diagonal Fisher for the labels drawn,
 * the expected (true) diagonal Fisher Σ_y p_y·g_y² (see `expectedLabels`: k rows per example),
 * Dense K-FAC factors (as statistics). Approximate by construction: the sampled Fisher (one label
 * draw per example: a Monte-Carlo estimate), the stratified Fisher (see `stratifiedLabels`: two
 * labels per example, lower variance), K-FAC as a Fisher (A ⊗ G assumes a ⟂ δ; Conv factors
 * further assume spatially uncorrelated δ, Grosse & Martens 2016). All quantities are taken in
 * inference mode (BatchNorm on its moving statistics, no dropout): training-mode BatchNorm couples
 * the examples of a batch and per-example gradients would not be defined.
 *
 * Never nested `tf.grads`: on tfjs 4.22 double backprop throws for exp, sigmoid, softmax-CE and
 * conv/pool, and is silently wrong for log-sum-exp MLPs. Hessian-vector products are central
 * differences of gradients, or Gauss-Newton products (J v by central differences of the logits,
 * then Jᵀ by one backward pass).
 */

export type { LayerKind } from '../../models/types.ts';
export {
  curvatureByName,
  meanGradientByName,
  type PerWeight,
  type PerWeightCurvature,
} from './by-name.ts';
export { computeCurvature } from './compute.ts';
export { unfoldPatches } from './patches.ts';
export {
  gaussNewtonVectorProduct,
  groupVariables,
  hessianVectorProduct,
  meanLossGradient,
} from './products.ts';
export type { Curvature, CurvatureOptions, FisherLabels, KfacFactors } from './types.ts';
