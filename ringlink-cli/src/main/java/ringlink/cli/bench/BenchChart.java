package ringlink.cli.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.CategoryItemRendererState;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.CategoryDataset;
import org.jfree.data.category.DefaultCategoryDataset;

/** Draws the bench results as PNG bar charts (JFreeChart, headless). */
public final class BenchChart {
    private BenchChart() {}

    /** Ringlink's bars and the reference's (1.0 by definition), and the goal marks, in the ratio chart. */
    static final Color RINGLINK = new Color(0x1f, 0x77, 0xb4), REFERENCE = new Color(0xa0, 0xa0, 0xa0),
            GOAL = new Color(0xd6, 0x27, 0x28);

    /**
     * Writes {@code throughput-gbps.png} (every cell), when there are sized cells
     * {@code throughput-mpps.png}, and when any cell has a ratio {@code ratios.png}; returns the files written.
     */
    public static List<Path> write(Path dir, List<CellResult> results) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Path> out = new ArrayList<>(absolute(dir, results));
        JFreeChart ratios = ratioChart(results);
        if (ratios != null) {
            Path r = dir.resolve("ratios.png");
            ChartUtils.saveChartAsPNG(r.toFile(), ratios, 1200, 640);
            out.add(r);
        }
        return out;
    }

    /**
     * The ratio chart: one category per Ringlink cell that has a reference in its run, two bars
     * in it: the reference (1.0, grey) and Ringlink's median ratio (blue) with a whisker from the
     * smallest to the largest per-repetition ratio; a red line over the bar at the cell's goal
     * ({@link BenchGoals}; none where no issue set one) and a line at 1.0. Null if no cell has a ratio.
     */
    static JFreeChart ratioChart(List<CellResult> results) {
        DefaultCategoryDataset bars = new DefaultCategoryDataset();
        DefaultCategoryDataset goals = new DefaultCategoryDataset();
        Map<String, double[]> whiskers = new HashMap<>();
        for (CellResult r : results) {
            BenchCell c = r.cell();
            if (c.reference() || !r.ok() || Double.isNaN(r.ratio())) continue;
            String column = c.group() + " " + (c.size() == 0 ? "stream" : c.size() + "B") + " " + c.variant();
            bars.addValue(1.0, "reference (same run)", column);
            bars.addValue(r.ratio(), "ringlink (median; whisker min-max of runs)", column);
            whiskers.put(column, new double[] {r.ratioMin(), r.ratioMax()});
            BenchGoals.of(c).ifPresent(g -> goals.addValue(g.ratio(), "goal", column));
        }
        if (bars.getColumnCount() == 0) return null;
        JFreeChart ch =
                chart("Ringlink bench: ratio to the reference in the same run (median of runs)", "x reference", bars);
        CategoryPlot plot = ch.getCategoryPlot();
        WhiskerBarRenderer br = new WhiskerBarRenderer(whiskers);
        br.setBarPainter(new StandardBarPainter());
        br.setShadowVisible(false);
        br.setSeriesPaint(0, REFERENCE);
        br.setSeriesPaint(1, RINGLINK);
        br.setItemMargin(0.02);
        plot.setRenderer(0, br);
        Map<String, Double> goalOf = new HashMap<>();
        for (int i = 0; i < goals.getColumnCount(); i++)
                goalOf.put(String.valueOf(goals.getColumnKey(i)), goals.getValue(0, i).doubleValue());
        br.goals = goalOf;
        LegendItemCollection legend = new LegendItemCollection();
        legend.add(new LegendItem("reference (same run) = 1.0", REFERENCE));
        legend.add(new LegendItem("ringlink: median ratio, whisker min-max over the runs", RINGLINK));
        legend.add(new LegendItem("goal (BenchGoals: the issues' table)", GOAL));
        plot.setFixedLegendItems(legend);
        // the whiskers are not in the datasets: make room for them (and the goals) above the bars
        double top = 1.0;
        for (double[] w : whiskers.values()) if (!Double.isNaN(w[1])) top = Math.max(top, w[1]);
        for (int i = 0; i < bars.getColumnCount(); i++) top = Math.max(top, bars.getValue(1, i).doubleValue());
        for (int i = 0; i < goals.getColumnCount(); i++) top = Math.max(top, goals.getValue(0, i).doubleValue());
        plot.getRangeAxis().setRange(0, top * 1.1);
        ValueMarker one = new ValueMarker(1.0, Color.DARK_GRAY,
                new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f));
        plot.addRangeMarker(one);
        return ch;
    }

    /** Bars with a min-max whisker per column (the per-repetition ratios) and a goal line on the Ringlink bars. */
    static final class WhiskerBarRenderer extends BarRenderer {
        private final Map<String, double[]> whiskers;
        Map<String, Double> goals = Map.of();

        WhiskerBarRenderer(Map<String, double[]> whiskers) {
            this.whiskers = whiskers;
        }

        @Override
        public void drawItem(Graphics2D g2, CategoryItemRendererState state, Rectangle2D dataArea, CategoryPlot plot,
                CategoryAxis domainAxis, ValueAxis rangeAxis, CategoryDataset dataset, int row, int column, int pass) {
            super.drawItem(g2, state, dataArea, plot, domainAxis, rangeAxis, dataset, row, column, pass);
            if (row != 1 || pass != 0) return;
            String key = String.valueOf(dataset.getColumnKey(column));
            double x = domainAxis.getCategorySeriesMiddle(column, dataset.getColumnCount(), row, dataset.getRowCount(),
                    getItemMargin(),
                    dataArea, plot.getDomainAxisEdge());
            Double goal = goals.get(key);
            if (goal != null) {
                double y = rangeAxis.valueToJava2D(goal, dataArea, plot.getRangeAxisEdge());
                double half = state.getBarWidth() / 2 + 4;
                g2.setPaint(GOAL);
                g2.setStroke(new BasicStroke(3f));
                g2.draw(new Line2D.Double(x - half, y, x + half, y));
            }
            double[] w = whiskers.get(key);
            if (w == null || Double.isNaN(w[0])) return;
            double lo = rangeAxis.valueToJava2D(w[0], dataArea, plot.getRangeAxisEdge());
            double hi = rangeAxis.valueToJava2D(w[1], dataArea, plot.getRangeAxisEdge());
            g2.setPaint(Color.BLACK);
            g2.setStroke(new BasicStroke(1.2f));
            g2.draw(new Line2D.Double(x, lo, x, hi));
            g2.draw(new Line2D.Double(x - 4, lo, x + 4, lo));
            g2.draw(new Line2D.Double(x - 4, hi, x + 4, hi));
        }
    }

    /**
     * The bars of one absolute chart: every cell that ran (transports' cells included, e.g. memif
     * and AF_PACKET), one column per group and size, one series per variant; {@code mpps}: sized
     * cells in Mpps, else every cell in Gbit/s.
     */
    public static DefaultCategoryDataset dataset(List<CellResult> results, boolean mpps) {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        for (CellResult r : results) {
            if (!r.ok()) continue;
            BenchCell c = r.cell();
            String column = c.group() + " " + (c.size() == 0 ? "stream" : c.size() + "B");
            if (!mpps) d.addValue(r.medianGbps(), c.variant(), column);
            else if (c.size() != 0) d.addValue(r.medianPps() / 1e6, c.variant(), column);
        }
        return d;
    }

    /** The absolute charts: Gbit/s for every cell, Mpps for the sized ones. */
    static List<Path> absolute(Path dir, List<CellResult> results) throws IOException {
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset gbps = dataset(results, false);
        DefaultCategoryDataset mpps = dataset(results, true);
        Path g = dir.resolve("throughput-gbps.png");
        save(chart("Ringlink bench: throughput (median)", "Gbit/s", gbps), g);
        if (mpps.getColumnCount() == 0) return List.of(g);
        Path m = dir.resolve("throughput-mpps.png");
        save(chart("Ringlink bench: packet rate (median)", "Mpps", mpps), m);
        return List.of(g, m);
    }

    private static JFreeChart chart(String title, String unit, DefaultCategoryDataset data) {
        JFreeChart ch =
                ChartFactory.createBarChart(title, null, unit, data, PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = ch.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        // Group labels ("switch vhost-user 64B") are long: slant them instead of cutting them to "swit...".
        plot.getDomainAxis().setCategoryLabelPositions(org.jfree.chart.axis.CategoryLabelPositions.UP_45);
        plot.getDomainAxis().setMaximumCategoryLabelWidthRatio(3f);
        ch.setBackgroundPaint(Color.WHITE);
        return ch;
    }

    private static void save(JFreeChart ch, Path file) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), ch, 1000, 560);
    }
}
