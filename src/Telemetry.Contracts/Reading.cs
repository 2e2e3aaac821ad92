using System.Runtime.CompilerServices;

namespace Telemetry.Contracts;

/// <summary>Fixed storage for one reading's values, indexed by <see cref="Field"/>: no per-field allocation.</summary>
[InlineArray(FieldCatalogue.FieldCount)]
public struct FieldValues
{
    private double _element;
}

/// <summary>
/// One validated reading of one sensor. Values that were dropped (out of range) or never sent are absent.
/// Mutable on purpose: the decoder fills one per reading without intermediate objects.
/// </summary>
public sealed class Reading
{
    private FieldValues _values;
    private ushort _present;

    /// <summary>When the sensor took the reading, Unix milliseconds (UTC).</summary>
    public long TimestampMs { get; set; }

    /// <summary>The sensor's counter, when it sent one.</summary>
    public long? Seq { get; set; }

    /// <summary>True when the payload had no <c>ts</c> and the receive time was used.</summary>
    public bool TimestampFromReceipt { get; set; }

    public bool HasAnyField => _present != 0;

    public int FieldCount => System.Numerics.BitOperations.PopCount(_present);

    public bool Has(Field field) => (_present & (1 << (int)field)) != 0;

    public bool TryGet(Field field, out double value)
    {
        if (Has(field))
        {
            value = _values[(int)field];
            return true;
        }
        value = double.NaN;
        return false;
    }

    public double? Get(Field field) => Has(field) ? _values[(int)field] : null;

    public void Set(Field field, double value)
    {
        _values[(int)field] = value;
        _present |= (ushort)(1 << (int)field);
    }

    public void Remove(Field field) => _present &= (ushort)~(1 << (int)field);

    /// <summary>The fields present, in <see cref="Field"/> order.</summary>
    public IEnumerable<(Field Field, double Value)> Fields()
    {
        for (var i = 0; i < FieldCatalogue.FieldCount; i++)
        {
            if ((_present & (1 << i)) != 0)
            {
                yield return ((Field)i, _values[i]);
            }
        }
    }

    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeMilliseconds(TimestampMs);
}
