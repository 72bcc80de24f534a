#version 330
// Feedback / trails: the previous output, zoomed and rotated a little, mixed under the new frame.
// @enabled 1
// @bypass_when amount<=0
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_input;     // this frame so far
uniform sampler2D u_previous;  // last frame's final output
uniform float u_time;
uniform vec2 u_resolution;
uniform float amount; // @param 0 0.98 0.0 how much of the previous frame stays (0 = off)
uniform float zoom; // @param 0.9 1.1 1.01 scale of the trail per frame (>1 grows outwards)
uniform float rotate; // @param -10 10 0.0 degrees of trail rotation per frame

void main() {
    vec2 c = v_uv - 0.5;
    float a = radians(rotate);
    mat2 r = mat2(cos(a), -sin(a), sin(a), cos(a));
    vec2 uv = r * c / zoom + 0.5;
    vec4 now = texture(u_input, v_uv);
    vec4 prev = texture(u_previous, uv);
    f_color = vec4(max(now.rgb, prev.rgb * amount), 1.0);
}
