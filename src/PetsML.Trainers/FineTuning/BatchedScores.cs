using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// The classifier's Score, PredictedLabel, OutlierScore and IsUnknown getters for a cursor over a data view: a second cursor over the same
/// (unshuffled) view reads ahead, and the network runs once per <see cref="ImageClassifierTransformer.InferenceBatchSize"/>
/// rows instead of once per row. Each row's probabilities are taken from the batch only when the read-ahead row has
/// the same position and row id as the cursor's current row; otherwise (a view whose two cursors disagree) batching
/// stops and rows are scored one by one, with the same results.
/// </summary>
internal sealed class BatchedScores : IDisposable
{
    readonly ImageClassifierTransformer _classifier;
    readonly DataViewRowCursor _input;
    readonly IDataView _source;
    readonly ValueGetter<DataViewRowId> _inputId;
    Func<torch.Tensor>? _singleImage;
    DataViewRowCursor? _ahead;
    ValueGetter<DataViewRowId>? _aheadId;
    Func<torch.Tensor>? _aheadImage;
    bool _batching = true;
    bool _aheadEnded;
    readonly List<(long Position, DataViewRowId Id, float[] Probabilities, float Outlier)> _batch = new();
    long _cachedPosition = -1;
    (float[] Probabilities, float Outlier) _current = (Array.Empty<float>(), float.NaN);

    public BatchedScores(ImageClassifierTransformer classifier, DataViewRowCursor input, IDataView source)
    {
        _classifier = classifier;
        _input = input;
        _source = source;
        _inputId = input.GetIdGetter();
    }

    public void GetScore(ref VBuffer<float> value)
    {
        var probabilities = Current().Probabilities;
        var editor = VBufferEditor.Create(ref value, probabilities.Length);
        probabilities.CopyTo(editor.Values);
        value = editor.Commit();
    }

    public void GetPredictedLabel(ref uint value) => value = PredictedKey(Current().Probabilities);

    public void GetOutlierScore(ref float value) => value = Current().Outlier;

    public void GetIsUnknown(ref bool value) => value = _classifier.IsUnknown(Current().Outlier);

    /// <summary>The PredictedLabel key of some probabilities: arg max + 1 (keys are 1-based).</summary>
    public static uint PredictedKey(float[] probabilities)
    {
        int best = 0;
        for (int i = 1; i < probabilities.Length; i++) if (probabilities[i] > probabilities[best]) best = i;
        return (uint)best + 1;
    }

    (float[] Probabilities, float Outlier) Current()
    {
        long position = _input.Position;
        if (_cachedPosition == position) return _current;
        _current = (_batching ? FromBatch(position) : null) ?? Single();
        _cachedPosition = position;
        return _current;
    }

    (float[], float) Single()
    {
        _singleImage ??= _classifier.MakeImageReader(_input);
        using var scope = torch.NewDisposeScope();
        var outputs = _classifier.Predict(_singleImage());
        return (outputs.Probabilities[0], outputs.OutlierScores[0]);
    }

    (float[], float)? FromBatch(long position)
    {
        int index = _batch.FindIndex(b => b.Position == position);
        if (index < 0)
        {
            Fill(position);
            index = _batch.FindIndex(b => b.Position == position);
        }
        DataViewRowId id = default;
        _inputId(ref id);
        if (index < 0 || !_batch[index].Id.Equals(id))
        {
            StopBatching();
            return null;
        }
        return (_batch[index].Probabilities, _batch[index].Outlier);
    }

    /// <summary>Scores the next batch of rows, starting at <paramref name="position"/>.</summary>
    void Fill(long position)
    {
        _batch.Clear();
        if (_ahead is null)
        {
            _ahead = _source.GetRowCursor(new[] { _source.Schema[_classifier.FeatureColumnName] });
            _aheadId = _ahead.GetIdGetter();
            _aheadImage = _classifier.MakeImageReader(_ahead);
        }
        while (!_aheadEnded && _ahead.Position < position)
            _aheadEnded = !_ahead.MoveNext();
        if (_aheadEnded || _ahead.Position != position) return;

        using var scope = torch.NewDisposeScope();
        var images = new List<torch.Tensor>();
        var rows = new List<(long, DataViewRowId)>();
        do
        {
            DataViewRowId id = default;
            _aheadId!(ref id);
            rows.Add((_ahead.Position, id));
            images.Add(_aheadImage!());
        }
        while (images.Count < _classifier.InferenceBatchSize && !(_aheadEnded = !_ahead.MoveNext()));
        var outputs = _classifier.Predict(torch.cat(images, 0));
        for (int i = 0; i < rows.Count; i++) _batch.Add((rows[i].Item1, rows[i].Item2, outputs.Probabilities[i], outputs.OutlierScores[i]));
    }

    void StopBatching()
    {
        _batching = false;
        _batch.Clear();
        _ahead?.Dispose();
        _ahead = null;
    }

    public void Dispose()
    {
        _ahead?.Dispose();
        _ahead = null;
    }
}
