package ringlink.cli.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/** Draws the bench results as PNG bar charts (JFreeChart, headless). */
public final class BenchChart {
    private BenchChart() {}

    /**
     * Writes {@code throughput-gbps.png} (every cell) and, when there are sized cells,
     * {@code throughput-mpps.png}; returns the files written.
     */
    public static List<Path> write(Path dir, List<CellResult> results) throws IOException {
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset gbps = new DefaultCategoryDataset();
        DefaultCategoryDataset mpps = new DefaultCategoryDataset();
        for (CellResult r : results) {
            if (!r.ok()) continue;
            BenchCell c = r.cell();
            String column = c.group() + " " + (c.size() == 0 ? "stream" : c.size() + "B");
            gbps.addValue(r.medianGbps(), c.variant(), column);
            if (c.size() != 0) mpps.addValue(r.medianPps() / 1e6, c.variant(), column);
        }
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
