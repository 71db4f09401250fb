namespace PetsML.Trainers.Training;

/// <summary>
/// A callback whose state inside a fit is part of the run (the best epoch kept so far, an early-stopping patience counter):
/// <see cref="TrainingCheckpoint.Capture"/> stores it, and a fine_tune resumed inside that fit puts it back right after
/// BeforeFit, so the remaining epochs decide as the uninterrupted run would. A fit resumed at its start (a phase boundary)
/// starts afresh, as it would have.
/// </summary>
internal interface IResumableCallback : ILearnerCallback
{
    /// <summary>The name the state is stored under in a checkpoint; one per kind of callback in a learner.</summary>
    string StateKey { get; }

    /// <summary>The state after the epoch that just ended.</summary>
    byte[] SaveState();

    /// <summary>Puts back a state <see cref="SaveState"/> returned.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a state.</exception>
    void RestoreState(byte[] state);
}
