using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// A model that can build an independent copy of itself. TorchSharp has no <c>deepcopy</c> for modules, and
/// <see cref="TrainingPrecision.Bf16Mixed"/> needs a second module (the bf16 working copy) next to the fp32
/// model the optimizer, freezing and checkpoints see.
/// </summary>
internal interface IReplicableModule
{
    /// <summary>
    /// A new module with the same architecture, the same state-dict names, a copy of every parameter and buffer
    /// (same dtype, same device), and the same seeded randomness (dropout). Sharing no tensor with the original.
    /// </summary>
    nn.Module<Tensor, Tensor> CreateReplica();
}
