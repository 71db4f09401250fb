namespace PetsML.Transforms.Pipeline;

/// <summary>
/// The reference count of a transformer that owns native memory (the classifier's network, the augmenter's buffer).
/// Whoever fits or loads the transformer holds the first reference; every row-to-row mapper ML.NET takes from it (each
/// <c>PredictionEngine</c>, through a <c>TransformerChain</c> too) takes another, and each <c>Dispose</c> releases one.
/// ML.NET's PredictionEngine disposes the model it was given, so without this the first engine disposed would free
/// what every other engine and the model's owner still use.
/// </summary>
internal sealed class SharedLifetime
{
    readonly Lock _gate = new();
    int _references = 1;
    bool _released;

    /// <summary>True once the last reference was released.</summary>
    public bool IsReleased
    {
        get { lock (_gate) return _released; }
    }

    /// <summary>Takes one more reference.</summary>
    /// <exception cref="ObjectDisposedException">The last reference was already released.</exception>
    public void AddReference(object owner)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_released, owner);
            _references++;
        }
    }

    /// <summary>Releases one reference; true for the call that released the last one (it frees the resources).</summary>
    public bool Release()
    {
        lock (_gate)
        {
            if (_released || --_references > 0) return false;
            _released = true;
            return true;
        }
    }
}
