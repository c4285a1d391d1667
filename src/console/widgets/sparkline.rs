//! One-line sparklines as text, for table cells.

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The newest `width` values scaled to `0..=max`, right-aligned (padding on the
/// left means "no data yet"; a gap means a poll without a value).
pub fn spark_line(values: &[Option<f64>], width: usize, max: f64) -> String {
    let start = values.len().saturating_sub(width);
    let shown = &values[start..];
    let mut out = String::with_capacity(width * 3);
    for _ in shown.len()..width {
        out.push(' ');
    }
    for &v in shown {
        let Some(v) = v else {
            out.push(' ');
            continue;
        };
        let frac = if max > 0.0 {
            (v / max).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let i = ((frac * (BLOCKS.len() - 1) as f64).round() as usize).min(BLOCKS.len() - 1);
        out.push(BLOCKS[i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_pads() {
        assert_eq!(
            spark_line(&[Some(0.0), Some(50.0), Some(100.0)], 5, 100.0),
            "  ▁▅█"
        );
        assert_eq!(
            spark_line(&[Some(100.0), Some(0.0), Some(200.0)], 2, 100.0),
            "▁█"
        );
        assert_eq!(
            spark_line(&[Some(100.0), None, Some(100.0)], 3, 100.0),
            "█ █"
        );
        assert_eq!(spark_line(&[], 3, 100.0), "   ");
    }
}
