using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Explaining;

/// <summary>
/// Grad-CAM (Selvaraju et al., 2017) for a network cut in two: a convolutional body and a head that maps its last
/// activations to logits. The class score's gradient with respect to those activations, averaged over space, weighs
/// each channel; the weighted sum of the channels, through a ReLU, is the map, bilinearly upsampled to the input and
/// divided by its maximum (all zeros when nothing in the picture speaks for the class).
/// </summary>
internal static class GradCamComputation
{
    /// <summary>One image's map and the probabilities it was computed with.</summary>
    /// <param name="Heat">Height×Width values in [0, 1], row-major.</param>
    /// <param name="ClassIndex">The class explained.</param>
    /// <param name="Probabilities">The softmax of the logits.</param>
    /// <param name="FeatureHeight">Rows of the activations the map was computed on, before upsampling.</param>
    /// <param name="FeatureWidth">Their columns.</param>
    internal sealed record Result(float[] Heat, int ClassIndex, float[] Probabilities, int FeatureHeight, int FeatureWidth);

    /// <param name="body">The layers up to the last block; run without gradients.</param>
    /// <param name="head">The layers after it, to the logits; run with gradients with respect to their input only.</param>
    /// <param name="image">One input [1, 3, H, W] (the caller keeps it).</param>
    /// <param name="classIndex">The class to explain; null: the predicted one.</param>
    public static Result Compute(Func<Tensor, Tensor> body, Func<Tensor, Tensor> head, Tensor image, int? classIndex)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 4 || image.shape[0] != 1)
            throw new ArgumentException($"One image [1, C, H, W] is explained at a time; got [{string.Join(", ", image.shape)}].", nameof(image));
        int height = (int)image.shape[2], width = (int)image.shape[3];
        using var scope = NewDisposeScope();
        Tensor activations;
        using (no_grad()) activations = body(image).detach();
        if (activations.dim() != 4)
            throw new InvalidOperationException($"The body's output must be [1, C, h, w]; got [{string.Join(", ", activations.shape)}].");
        // Gradients are taken with respect to this leaf only (autograd.grad, not backward): no parameter's .grad is
        // written, so the model keeps none.
        var leaf = activations.requires_grad_(true);
        Tensor gradients, logits;
        using (enable_grad())
        {
            logits = head(leaf);
            int classes = (int)logits.shape[1];
            int target = classIndex ?? (int)logits.argmax(1).item<long>();
            if (target < 0 || target >= classes)
                throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"The class to explain must lie in [0, {classes - 1}].");
            classIndex = target;
            gradients = autograd.grad([logits[0, target]], [leaf])[0];
        }
        using (no_grad())
        {
            var probabilities = nn.functional.softmax(logits.detach().to(float32), 1).cpu().data<float>().ToArray();
            var weights = gradients.to(float32).mean([2, 3], keepdim: true);
            var cam = nn.functional.relu((weights * leaf.detach().to(float32)).sum(1, keepdim: true));
            var upsampled = nn.functional.interpolate(cam, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
            float max = upsampled.max().cpu().item<float>();
            var heat = max > 0 && float.IsFinite(max) ? upsampled.div(max).clamp(0, 1) : zeros_like(upsampled);
            return new Result(heat.cpu().data<float>().ToArray(), classIndex.Value, probabilities, (int)leaf.shape[2], (int)leaf.shape[3]);
        }
    }
}
