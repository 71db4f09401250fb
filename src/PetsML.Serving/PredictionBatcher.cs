using System.Collections.Concurrent;

namespace PetsML.Serving;

/// <summary>
/// Gathers the images of concurrent requests, already decoded on their own threads, and runs them through the network
/// together: one worker thread takes everything waiting (up to <see cref="PetsPredictionOptions.MaxBatchSize"/>, all
/// decoded by the same loaded model) and runs one forward pass over it. It never waits for more: a lone request runs at
/// once as a batch of one, and under load the requests that arrive during one pass form the next.
/// </summary>
internal sealed class PredictionBatcher : IDisposable
{
    sealed record Pending(LoadedModel Model, Array Features, TaskCompletionSource<ServedScore> Result)
    {
        public CancellationTokenRegistration Cancellation { get; set; }
    }

    readonly int _maxBatchSize;
    readonly ConcurrentQueue<Pending> _queue = new();
    readonly SemaphoreSlim _waiting = new(0);
    readonly object _gate = new();
    readonly Thread _worker;
    bool _stopping;
    int _largestBatch;

    public PredictionBatcher(int maxBatchSize)
    {
        _maxBatchSize = maxBatchSize;
        _worker = new Thread(Work) { IsBackground = true, Name = "PetsML batch worker" };
        _worker.Start();
    }

    /// <summary>The most images one forward pass of this batcher has run (tests check that batching happened).</summary>
    public int LargestBatch => Volatile.Read(ref _largestBatch);

    /// <summary>Queues one image's features for <paramref name="model"/> (the caller holds a lease on it until the task ends).</summary>
    /// <exception cref="ObjectDisposedException">The predictor is being disposed.</exception>
    public Task<ServedScore> Score(LoadedModel model, Array features, CancellationToken cancellationToken)
    {
        var pending = new Pending(model, features, new TaskCompletionSource<ServedScore>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (cancellationToken.CanBeCanceled)
            pending.Cancellation = cancellationToken.Register(() => pending.Result.TrySetCanceled(cancellationToken));
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, typeof(PetsPredictor));
            _queue.Enqueue(pending);
            _waiting.Release();
        }
        return pending.Result.Task;
    }

    void Work()
    {
        var batch = new List<Pending>(_maxBatchSize);
        while (true)
        {
            _waiting.Wait();
            if (Volatile.Read(ref _stopping)) return;
            batch.Clear();
            // Only this thread dequeues, so a peeked item is the one dequeued next. A batch stops at a request decoded by
            // another model (one that arrived after a swap): every answer comes from one model.
            while (batch.Count < _maxBatchSize && _queue.TryPeek(out var next) && (batch.Count == 0 || ReferenceEquals(next.Model, batch[0].Model)))
            {
                _queue.TryDequeue(out _);
                if (batch.Count > 0) _waiting.Wait(0); // its signal, if already given, would wake this loop for nothing
                if (next.Result.Task.IsCompleted) next.Cancellation.Dispose(); // cancelled while it waited
                else batch.Add(next);
            }
            if (batch.Count == 0) continue;
            if (batch.Count > _largestBatch) Volatile.Write(ref _largestBatch, batch.Count);
            Run(batch);
        }
    }

    static void Run(List<Pending> batch)
    {
        var model = batch[0].Model;
        if (!model.TryAcquire()) // every request of this batch was cancelled and the swapped-out model released
        {
            foreach (var pending in batch) Complete(pending, null, new OperationCanceledException());
            return;
        }
        try
        {
            ServedScore[] scores;
            try { scores = model.Score(batch.Select(p => p.Features).ToList()); }
            catch (Exception) when (batch.Count > 1)
            {
                // A model that decodes in the batch (the image-bytes shape) fails the whole batch for one bad upload: each
                // image alone gives every request its own answer or its own error.
                foreach (var pending in batch) RunAlone(model, pending);
                return;
            }
            catch (Exception e)
            {
                Complete(batch[0], null, e);
                return;
            }
            for (int i = 0; i < batch.Count; i++) Complete(batch[i], scores[i], null);
        }
        finally { model.Release(); }
    }

    static void RunAlone(LoadedModel model, Pending pending)
    {
        try { Complete(pending, model.Score([pending.Features])[0], null); }
        catch (Exception e) { Complete(pending, null, e); }
    }

    static void Complete(Pending pending, ServedScore? scores, Exception? error)
    {
        pending.Cancellation.Dispose();
        if (error is null) pending.Result.TrySetResult(scores!);
        else pending.Result.TrySetException(error);
    }

    /// <summary>Lets the batch running finish, then fails every request still waiting with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            Volatile.Write(ref _stopping, true);
        }
        _waiting.Release();
        _worker.Join();
        while (_queue.TryDequeue(out var pending))
            Complete(pending, null, new ObjectDisposedException(nameof(PetsPredictor), "The predictor was disposed before this image's turn."));
        _waiting.Dispose();
    }
}
