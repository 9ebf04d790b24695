//! The zoo's convolutional networks: ResNet-50, MobileNetV2, GoogLeNet, VGG-16 (torchvision
//! layer shapes) and SSD-ResNet34 (MLPerf Inference's reference shapes).

use super::net::{Attr, Dim, Net, ZooModel};

/// How a convolution's output is activated.
#[derive(Clone, Copy, PartialEq)]
enum Act {
    Relu,
    Relu6,
    None,
}

/// Whether a pooling's output size is rounded up.
#[derive(Clone, Copy, PartialEq)]
enum Ceil {
    Yes,
    No,
}

/// A square convolution's geometry.
#[derive(Clone, Copy)]
struct Conv {
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    /// Padding on every side (`k / 2` unless given).
    pad: Option<usize>,
    group: usize,
}

fn conv(cin: usize, cout: usize, k: usize) -> Conv {
    Conv {
        cin,
        cout,
        k,
        stride: 1,
        pad: None,
        group: 1,
    }
}

impl Conv {
    fn stride(self, stride: usize) -> Conv {
        Conv { stride, ..self }
    }
    fn pad(self, pad: usize) -> Conv {
        Conv {
            pad: Some(pad),
            ..self
        }
    }
    fn group(self, group: usize) -> Conv {
        Conv { group, ..self }
    }
}

fn ints(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&x| x as i64).collect())
}

impl Net {
    /// Conv with bias (BatchNormalization folded in), then Relu, Relu6 (Clip) or nothing.
    fn conv(&mut self, x: &str, name: &str, c: Conv, act: Act) -> String {
        let pad = c.pad.unwrap_or(c.k / 2);
        let fan_in = c.cin / c.group * c.k * c.k;
        let w = self.weight(
            &format!("{name}.weight"),
            &[c.cout, c.cin / c.group, c.k, c.k],
            fan_in,
        );
        let b = self.bias(&format!("{name}.bias"), c.cout);
        let mut attrs = vec![
            ("kernel_shape", ints(&[c.k, c.k])),
            ("pads", ints(&[pad; 4])),
            ("strides", ints(&[c.stride, c.stride])),
        ];
        if c.group != 1 {
            attrs.insert(0, ("group", Attr::Int(c.group as i64)));
        }
        let y = self.node("Conv", &[x, &w, &b], name, attrs);
        match act {
            Act::Relu => self.node("Relu", &[&y], &format!("{name}.relu"), vec![]),
            Act::Relu6 => {
                let (lo, hi) = (self.scalar(0.0), self.scalar(6.0));
                self.node("Clip", &[&y, &lo, &hi], &format!("{name}.relu6"), vec![])
            }
            Act::None => y,
        }
    }

    /// A k×k MaxPool; `ceil` rounds the output size up (`ceil_mode`).
    fn max_pool(
        &mut self,
        x: &str,
        name: &str,
        k: usize,
        stride: usize,
        pad: usize,
        ceil: Ceil,
    ) -> String {
        let mut attrs = vec![];
        if ceil == Ceil::Yes {
            attrs.push(("ceil_mode", Attr::Int(1)));
        }
        attrs.push(("kernel_shape", ints(&[k, k])));
        attrs.push(("pads", ints(&[pad; 4])));
        attrs.push(("strides", ints(&[stride, stride])));
        self.node("MaxPool", &[x], name, attrs)
    }

    /// GlobalAveragePool → Flatten → Gemm (the usual ImageNet head).
    fn classifier(&mut self, x: &str, name: &str, fin: usize) -> String {
        let x = self.node("GlobalAveragePool", &[x], &format!("{name}.pool"), vec![]);
        let x = self.node(
            "Flatten",
            &[&x],
            &format!("{name}.flatten"),
            vec![("axis", Attr::Int(1))],
        );
        self.fc(&x, name, fin, 1000)
    }

    /// A fully connected layer on [N, fin] as Gemm with the PyTorch weight layout.
    fn fc(&mut self, x: &str, name: &str, fin: usize, fout: usize) -> String {
        let w = self.weight(&format!("{name}.weight"), &[fout, fin], fin);
        let b = self.bias(&format!("{name}.bias"), fout);
        self.node("Gemm", &[x, &w, &b], name, vec![("transB", Attr::Int(1))])
    }

    /// The finished model of an ImageNet classifier: `input [N,3,224,224]` to `logits`
    /// `[N,1000]`.
    fn imagenet_model(self, logits: &str, doc: &str) -> ZooModel {
        self.model(&[("input", &IMAGE)], &[(logits, &CLASSES)], doc)
    }

    fn add_relu(&mut self, a: &str, b: &str, name: &str) -> String {
        let y = self.node("Add", &[a, b], &format!("{name}.add"), vec![]);
        self.node("Relu", &[&y], &format!("{name}.relu"), vec![])
    }
}

const IMAGE: [Dim; 4] = [Dim::Batch, Dim::Fixed(3), Dim::Fixed(224), Dim::Fixed(224)];
const CLASSES: [Dim; 2] = [Dim::Batch, Dim::Fixed(1000)];

/// torchvision resnet50 (ResNet v1.5: stride on the 3×3 conv of each bottleneck).
pub(super) fn resnet50() -> ZooModel {
    let mut n = Net::new("resnet50", 50, 17);
    let x = n.conv("input", "conv1", conv(3, 64, 7).stride(2), Act::Relu);
    let mut x = n.max_pool(&x, "maxpool", 3, 2, 1, Ceil::No);
    let mut cin = 64;
    let stages = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]; // width, blocks, stride
    for (i, (width, blocks, stride)) in stages.into_iter().enumerate() {
        for b in 0..blocks {
            let s = if b == 0 { stride } else { 1 };
            x = bottleneck(&mut n, &x, &format!("layer{}.{b}", i + 1), cin, width, s);
            cin = width * 4;
        }
    }
    let y = n.classifier(&x, "fc", 2048);
    n.imagenet_model(&y, "ResNet-50 v1.5, torchvision layer shapes.")
}

fn bottleneck(n: &mut Net, x: &str, name: &str, cin: usize, width: usize, stride: usize) -> String {
    let y = n.conv(x, &format!("{name}.conv1"), conv(cin, width, 1), Act::Relu);
    let c2 = conv(width, width, 3).stride(stride);
    let y = n.conv(&y, &format!("{name}.conv2"), c2, Act::Relu);
    let y = n.conv(
        &y,
        &format!("{name}.conv3"),
        conv(width, width * 4, 1),
        Act::None,
    );
    let shortcut = if stride != 1 || cin != width * 4 {
        let d = conv(cin, width * 4, 1).stride(stride);
        n.conv(x, &format!("{name}.downsample"), d, Act::None)
    } else {
        x.to_string()
    };
    n.add_relu(&y, &shortcut, name)
}

/// torchvision mobilenet_v2 (width 1.0): ReLU6 as Clip(0, 6).
pub(super) fn mobilenet_v2() -> ZooModel {
    let mut n = Net::new("mobilenet_v2", 2, 17);
    let mut x = n.conv("input", "features.0", conv(3, 32, 3).stride(2), Act::Relu6);
    let (mut cin, mut i) = (32, 1);
    let settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    for (t, c, reps, s) in settings {
        for r in 0..reps {
            let stride = if r == 0 { s } else { 1 };
            x = inverted_residual(&mut n, &x, &format!("features.{i}"), cin, c, stride, t);
            (cin, i) = (c, i + 1);
        }
    }
    let x = n.conv(&x, &format!("features.{i}"), conv(320, 1280, 1), Act::Relu6);
    let y = n.classifier(&x, "classifier", 1280);
    n.imagenet_model(&y, "MobileNetV2 1.0, torchvision layer shapes.")
}

fn inverted_residual(
    n: &mut Net,
    x: &str,
    name: &str,
    cin: usize,
    cout: usize,
    stride: usize,
    expand: usize,
) -> String {
    let hidden = cin * expand;
    let mut y = x.to_string();
    if expand != 1 {
        y = n.conv(
            &y,
            &format!("{name}.expand"),
            conv(cin, hidden, 1),
            Act::Relu6,
        );
    }
    let dw = conv(hidden, hidden, 3).stride(stride).group(hidden);
    let y = n.conv(&y, &format!("{name}.depthwise"), dw, Act::Relu6);
    let y = n.conv(
        &y,
        &format!("{name}.project"),
        conv(hidden, cout, 1),
        Act::None,
    );
    if stride == 1 && cin == cout {
        n.node("Add", &[&y, x], &format!("{name}.add"), vec![])
    } else {
        y
    }
}

/// torchvision googlenet (Inception v1, no auxiliary heads at inference). Like torchvision,
/// the "5×5" branch uses a 3×3 kernel (pytorch/vision issue 906).
pub(super) fn googlenet() -> ZooModel {
    let mut n = Net::new("googlenet", 1, 17);
    let x = n.conv("input", "conv1", conv(3, 64, 7).stride(2), Act::Relu);
    let x = n.max_pool(&x, "maxpool1", 3, 2, 0, Ceil::Yes);
    let x = n.conv(&x, "conv2", conv(64, 64, 1), Act::Relu);
    let x = n.conv(&x, "conv3", conv(64, 192, 3), Act::Relu);
    let mut x = n.max_pool(&x, "maxpool2", 3, 2, 0, Ceil::Yes);
    // name, cin, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool projection
    let modules: [(&str, [usize; 7]); 9] = [
        ("inception3a", [192, 64, 96, 128, 16, 32, 32]),
        ("inception3b", [256, 128, 128, 192, 32, 96, 64]),
        ("inception4a", [480, 192, 96, 208, 16, 48, 64]),
        ("inception4b", [512, 160, 112, 224, 24, 64, 64]),
        ("inception4c", [512, 128, 128, 256, 24, 64, 64]),
        ("inception4d", [512, 112, 144, 288, 32, 64, 64]),
        ("inception4e", [528, 256, 160, 320, 32, 128, 128]),
        ("inception5a", [832, 256, 160, 320, 32, 128, 128]),
        ("inception5b", [832, 384, 192, 384, 48, 128, 128]),
    ];
    for (name, c) in modules {
        x = inception(&mut n, &x, name, c);
        match name {
            "inception3b" => x = n.max_pool(&x, "maxpool3", 3, 2, 0, Ceil::Yes),
            "inception4e" => x = n.max_pool(&x, "maxpool4", 2, 2, 0, Ceil::Yes),
            _ => {}
        }
    }
    let y = n.classifier(&x, "fc", 1024);
    n.imagenet_model(&y, "GoogLeNet (Inception v1), torchvision layer shapes.")
}

/// A 1×1 reduction to `mid` channels, then a 3×3 convolution (`NAME.0`, `NAME.1`).
fn reduce_conv(n: &mut Net, x: &str, name: &str, cin: usize, mid: usize, cout: usize) -> String {
    let y = n.conv(x, &format!("{name}.0"), conv(cin, mid, 1), Act::Relu);
    n.conv(&y, &format!("{name}.1"), conv(mid, cout, 3), Act::Relu)
}

fn inception(n: &mut Net, x: &str, name: &str, c: [usize; 7]) -> String {
    let [cin, c1, c3r, c3, c5r, c5, pool_proj] = c;
    let b1 = n.conv(x, &format!("{name}.branch1"), conv(cin, c1, 1), Act::Relu);
    let b2 = reduce_conv(n, x, &format!("{name}.branch2"), cin, c3r, c3);
    let b3 = reduce_conv(n, x, &format!("{name}.branch3"), cin, c5r, c5);
    let b4 = n.max_pool(x, &format!("{name}.branch4.pool"), 3, 1, 1, Ceil::Yes);
    let b4 = n.conv(
        &b4,
        &format!("{name}.branch4.1"),
        conv(cin, pool_proj, 1),
        Act::Relu,
    );
    n.node(
        "Concat",
        &[&b1, &b2, &b3, &b4],
        name,
        vec![("axis", Attr::Int(1))],
    )
}

/// torchvision vgg16 (configuration D, no batch norm).
pub(super) fn vgg16() -> ZooModel {
    let mut n = Net::new("vgg16", 16, 17);
    let (mut x, mut cin) = ("input".to_string(), 3);
    // 0 marks a max pool.
    let cfg = [
        64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
    ];
    for (i, v) in cfg.into_iter().enumerate() {
        let name = format!("features.{i}");
        if v == 0 {
            x = n.max_pool(&x, &name, 2, 2, 0, Ceil::No);
        } else {
            x = n.conv(&x, &name, conv(cin, v, 3), Act::Relu);
            cin = v;
        }
    }
    let x = n.node("Flatten", &[&x], "flatten", vec![("axis", Attr::Int(1))]);
    let x = n.fc(&x, "classifier.0", 512 * 7 * 7, 4096);
    let x = n.node("Relu", &[&x], "classifier.1", vec![]);
    let x = n.fc(&x, "classifier.3", 4096, 4096);
    let x = n.node("Relu", &[&x], "classifier.4", vec![]);
    let y = n.fc(&x, "classifier.6", 4096, 1000);
    n.imagenet_model(&y, "VGG-16, torchvision layer shapes.")
}

/// MLPerf Inference SSD-ResNet34 at 1200×1200 (mlcommons/inference ssd_r34.py): the
/// ResNet-34 trunk up to conv4_x with its first block's stride set to 1, five extra feature
/// blocks and 3×3 stride-3 loc/conf heads over six feature maps (50², 25², 13², 7², 3², 3²;
/// 15130 default boxes). Box decoding and NMS are not part of the graph.
pub(super) fn ssd_resnet34() -> ZooModel {
    let mut n = Net::new("ssd_resnet34", 34, 17);
    let x = n.conv(
        "input",
        "backbone.conv1",
        conv(3, 64, 7).stride(2),
        Act::Relu,
    );
    let mut x = n.max_pool(&x, "backbone.maxpool", 3, 2, 1, Ceil::No);
    let mut cin = 64;
    for (i, (width, blocks, stride)) in [(64, 3, 1), (128, 4, 2), (256, 6, 1)]
        .into_iter()
        .enumerate()
    {
        for b in 0..blocks {
            let name = format!("backbone.layer{}.{b}", i + 1);
            x = basic_block(
                &mut n,
                &x,
                &name,
                cin,
                width,
                if b == 0 { stride } else { 1 },
            );
            cin = width;
        }
    }
    let mut features = vec![x];
    let chans = [256, 512, 512, 256, 256, 256];
    let extra = [
        (256, 2, 1),
        (256, 2, 1),
        (128, 2, 1),
        (128, 2, 0),
        (128, 1, 0),
    ]; // mid, stride, pad
    for (i, (mid, stride, pad)) in extra.into_iter().enumerate() {
        let last = features.last().expect("the trunk's map").clone();
        let y = n.conv(
            &last,
            &format!("additional.{i}.0"),
            conv(chans[i], mid, 1),
            Act::Relu,
        );
        let c = conv(mid, chans[i + 1], 3).stride(stride).pad(pad);
        features.push(n.conv(&y, &format!("additional.{i}.2"), c, Act::Relu));
    }
    let (mut locs, mut confs) = (vec![], vec![]);
    for (i, ((f, c), boxes)) in features
        .iter()
        .zip(chans)
        .zip([4, 6, 6, 6, 4, 4])
        .enumerate()
    {
        locs.push(head(&mut n, f, &format!("loc.{i}"), c, boxes * 4, 4));
        confs.push(head(&mut n, f, &format!("conf.{i}"), c, boxes * 81, 81));
    }
    let axis = || vec![("axis", Attr::Int(2))];
    let loc = n.node("Concat", &refs(&locs), "locs", axis());
    let conf = n.node("Concat", &refs(&confs), "confs", axis());
    n.model(
        &[(
            "input",
            &[
                Dim::Batch,
                Dim::Fixed(3),
                Dim::Fixed(1200),
                Dim::Fixed(1200),
            ],
        )],
        &[
            (&loc, &[Dim::Batch, Dim::Fixed(4), Dim::Fixed(15130)]),
            (&conf, &[Dim::Batch, Dim::Fixed(81), Dim::Fixed(15130)]),
        ],
        "SSD-ResNet34 1200x1200, MLPerf reference layer shapes.",
    )
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn basic_block(
    n: &mut Net,
    x: &str,
    name: &str,
    cin: usize,
    width: usize,
    stride: usize,
) -> String {
    let c1 = conv(cin, width, 3).stride(stride);
    let y = n.conv(x, &format!("{name}.conv1"), c1, Act::Relu);
    let y = n.conv(
        &y,
        &format!("{name}.conv2"),
        conv(width, width, 3),
        Act::None,
    );
    let shortcut = if stride != 1 || cin != width {
        let d = conv(cin, width, 1).stride(stride);
        n.conv(x, &format!("{name}.downsample"), d, Act::None)
    } else {
        x.to_string()
    };
    n.add_relu(&y, &shortcut, name)
}

/// A 3×3 stride-3 prediction conv, viewed as [N, per_box, boxes].
fn head(n: &mut Net, x: &str, name: &str, cin: usize, cout: usize, per_box: usize) -> String {
    let y = n.conv(x, name, conv(cin, cout, 3).stride(3), Act::None);
    let shape = n.int64s(&[0, per_box as i64, -1]);
    n.node("Reshape", &[&y, &shape], &format!("{name}.view"), vec![])
}
