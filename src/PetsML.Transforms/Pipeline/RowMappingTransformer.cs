using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms.Pipeline;

namespace PetsML;

/// <summary>
/// Base of PetsML's transformers that append columns computed from each row (label, split, presize,
/// augmentation, the trainer's scores). ML.NET's own base classes (RowToRowTransformerBase,
/// MapperBase) cannot be derived from outside ML.NET, so this is the public-API-only equivalent:
/// an <see cref="ITransformer"/>, its <see cref="IRowToRowMapper"/> (for PredictionEngine) and the
/// lazily mapped <see cref="IDataView"/>.
/// </summary>
public abstract class RowMappingTransformer : ITransformer
{
    /// <summary>Always true: every PetsML transformer maps rows one by one.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>
    /// The columns this transformer appends, checked against <paramref name="inputSchema"/>.
    /// Throws <see cref="ArgumentOutOfRangeException"/>/<see cref="InvalidOperationException"/> naming the
    /// column, the expected type and the actual one when the input does not fit.
    /// </summary>
    protected abstract IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema);

    /// <summary>Names of the input columns an output column is computed from.</summary>
    protected abstract IEnumerable<string> GetInputColumnNames();

    /// <summary>
    /// Getters for the appended columns (index i of <see cref="GetOutputColumns"/>), reading from
    /// <paramref name="input"/>; only those with <paramref name="isActive"/>(i) are used.
    /// </summary>
    protected abstract Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive);

    /// <summary>
    /// Getters for a cursor over a whole data view (Transform, Evaluate); by default the row-by-row ones. A
    /// transformer that computes better in batches (the classifier's network) may read ahead in
    /// <paramref name="source"/>, the view <paramref name="input"/> is a cursor of (not shuffled unless <paramref name="shuffled"/>).
    /// </summary>
    protected virtual Delegate[] MakeCursorGetters(DataViewRowCursor input, IDataView source, bool shuffled, Func<int, bool> isActive)
        => MakeGetters(input, isActive);

    /// <summary>Writes this transformer into a model .zip (see Interop/MlNet).</summary>
    public abstract void Save(ModelSaveContext ctx);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        foreach (var column in GetOutputColumns(inputSchema))
            builder.AddColumn(column.Name, column.Type, column.Annotations);
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(this, input);
    }

    /// <summary>
    /// Set by a transformer that owns native memory and frees it in <c>Dispose</c>: each mapper taken from it holds a
    /// reference, so disposing one PredictionEngine does not free what the others use (see <see cref="SharedLifetime"/>).
    /// </summary>
    private protected SharedLifetime? Lifetime { get; init; }

    /// <inheritdoc/>
    /// <remarks>The mapper holds a reference to a transformer that owns native memory; disposing it releases that reference.</remarks>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        var mapper = new Mapper(this, inputSchema);
        Lifetime?.AddReference(this);
        return mapper;
    }

    /// <summary>The data view a transformer produced; lets the trainer find PetsML steps upstream.</summary>
    public sealed class MappedDataView : IDataView
    {
        readonly Mapper _mapper;

        internal MappedDataView(RowMappingTransformer transformer, IDataView source)
        {
            Transformer = transformer;
            Source = source;
            _mapper = new Mapper(transformer, source.Schema);
        }

        /// <summary>The transformer that maps <see cref="Source"/>.</summary>
        public RowMappingTransformer Transformer { get; }

        /// <summary>The data view this one reads from.</summary>
        public IDataView Source { get; }

        public bool CanShuffle => Source.CanShuffle;
        public DataViewSchema Schema => _mapper.OutputSchema;
        public long? GetRowCount() => Source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var needed = columnsNeeded.ToList();
            var inputCursor = Source.GetRowCursor(_mapper.GetDependencies(needed), rand);
            return new Cursor(_mapper, inputCursor, needed, Source, shuffled: rand is not null);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => new[] { GetRowCursor(columnsNeeded, rand) };
    }

    sealed class Mapper : IRowToRowMapper
    {
        readonly RowMappingTransformer _transformer;
        readonly int _inputCount;
        readonly int[] _inputIndices;

        public Mapper(RowMappingTransformer transformer, DataViewSchema inputSchema)
        {
            _transformer = transformer;
            InputSchema = inputSchema;
            OutputSchema = transformer.GetOutputSchema(inputSchema);
            _inputCount = inputSchema.Count;
            _inputIndices = transformer.GetInputColumnNames()
                .Select(name => inputSchema.GetColumnOrNull(name)?.Index
                    ?? throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{name}' not found."))
                .ToArray();
        }

        public DataViewSchema InputSchema { get; }
        public DataViewSchema OutputSchema { get; }

        public bool IsAppended(int outputIndex) => outputIndex >= _inputCount;

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var active = new HashSet<int>();
            bool anyAppended = false;
            foreach (var column in dependingColumns)
            {
                if (IsAppended(column.Index)) anyAppended = true;
                else active.Add(column.Index);
            }
            if (anyAppended)
                foreach (var index in _inputIndices) active.Add(index);
            return active.OrderBy(i => i).Select(i => InputSchema[i]);
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
            => new MappedRow(this, input, activeColumns.ToList());

        public Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isAppendedActive)
            => _transformer.MakeGetters(input, isAppendedActive);

        public Delegate[] MakeCursorGetters(DataViewRowCursor input, IDataView source, bool shuffled, Func<int, bool> isAppendedActive)
            => _transformer.MakeCursorGetters(input, source, shuffled, isAppendedActive);

        public int InputCount => _inputCount;
    }

    class MappedRow : DataViewRow
    {
        readonly Mapper _mapper;
        readonly DataViewRow _input;
        readonly bool[] _active;
        readonly Delegate[] _getters;

        public MappedRow(Mapper mapper, DataViewRow input, IReadOnlyList<DataViewSchema.Column> active,
            Func<Func<int, bool>, Delegate[]>? makeGetters = null)
        {
            _mapper = mapper;
            _input = input;
            _active = new bool[mapper.OutputSchema.Count];
            foreach (var column in active) _active[column.Index] = true;
            bool anyAppended = active.Any(c => mapper.IsAppended(c.Index));
            Func<int, bool> isActive = i => _active[mapper.InputCount + i];
            _getters = anyAppended
                ? makeGetters?.Invoke(isActive) ?? mapper.MakeGetters(input, isActive)
                : Array.Empty<Delegate>();
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (_mapper.IsAppended(column.Index))
            {
                var getter = _getters[column.Index - _mapper.InputCount];
                return getter as ValueGetter<TValue>
                    ?? throw new InvalidOperationException($"Column '{column.Name}' is of type {column.Type}, not {typeof(TValue).Name}.");
            }
            return _input.GetGetter<TValue>(_input.Schema[column.Index]);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                foreach (var getter in _getters)
                    (getter?.Target as IDisposable)?.Dispose();
            base.Dispose(disposing);
        }
    }

    sealed class Cursor : DataViewRowCursor
    {
        readonly DataViewRowCursor _input;
        readonly MappedRow _row;

        public Cursor(Mapper mapper, DataViewRowCursor input, IReadOnlyList<DataViewSchema.Column> active, IDataView source, bool shuffled)
        {
            _input = input;
            _row = new MappedRow(mapper, input, active, isActive => mapper.MakeCursorGetters(input, source, shuffled, isActive));
        }

        public override DataViewSchema Schema => _row.Schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _row.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _row.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _row.Dispose();
                _input.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
