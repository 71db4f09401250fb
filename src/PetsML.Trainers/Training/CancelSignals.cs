namespace PetsML;

/// <summary>Base of the typed signals a callback throws to leave part of the loop early (fastai's <c>Cancel*Exception</c>).</summary>
public abstract class CancelSignalException : Exception
{
    protected CancelSignalException(string message) : base(message) { }
}

/// <summary>Ends the current fit after the current event; AfterFit still runs. The learner does not rethrow it.</summary>
public sealed class CancelFitException : CancelSignalException
{
    public CancelFitException(string reason = "A callback ended the fit.") : base(reason) { }
}

/// <summary>Skips the rest of this epoch's validation; AfterValidate and AfterEpoch still run.</summary>
public sealed class CancelValidateException : CancelSignalException
{
    public CancelValidateException(string reason = "A callback skipped validation.") : base(reason) { }
}
